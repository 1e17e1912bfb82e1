"""roicodec's napari plugin (npe2 manifest: ``napari.yaml`` at the package root).

The reader, writer, sample data and the arithmetic behind the widgets live here and import neither Qt nor napari: they
return layer-data tuples, as napari-ome-zarr's reader does. The dock widgets live in :mod:`roicodec.napari.qt`.
"""
