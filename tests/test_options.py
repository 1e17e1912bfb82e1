import pytest

import roicodec
from roicodec import options
from roicodec.models import registry


def test_qualities_are_parsed_and_checked_once_for_every_face() -> None:
    assert options.parse_qualities(" 75, 90,,100 ") == (75, 90, 100)
    assert options.parse_qualities("") == ()
    with pytest.raises(roicodec.RoiError, match="comma-separated integers"):
        options.parse_qualities("75,high")
    assert options.check_qualities([50, 95]) == (50, 95)
    for bad, message in (((90, 75), "do not increase"), ((75, 75), "do not increase"), ((0, 50), "1..100"),
                         (tuple(range(1, 19)), "at most")):
        with pytest.raises(roicodec.RoiError, match=message):
            options.check_qualities(bad)


def test_names_come_from_their_registries() -> None:
    from roicodec.segment.sources import EMBEDDED, NUCLEI, SALIENT, ZOO

    assert options.roi_model_names() == [SALIENT, NUCLEI, EMBEDDED, *ZOO]
    assert registry.DEFAULT in options.base_model_names() and "paper-ae" in options.base_model_names()
