# The nuclei/cell foreground model behind ``--roi auto`` on microscopy: a narrower Swin (embed dims 32) than the
# CamVid model, since it runs at the image's native scale (nuclei sizes are in pixels) and must stay under 1 s per
# megapixel on one core. Inputs are normalised by roicodec.segment.normalise.microscopy_rgb (percentiles 1-99.8 to
# 0-255, gray repeated to RGB) before the mean/std below.
num_classes = 2
class_names = ('background', 'nucleus')
roi_classes = ('nucleus',)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],
    std=[64.0, 64.0, 64.0],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='SwinTransformer',
        pretrain_img_size=224,
        in_channels=3,
        embed_dims=32,
        patch_size=4,
        window_size=7,
        mlp_ratio=4,
        depths=(2, 2, 2, 2),
        num_heads=(1, 2, 4, 8),
        strides=(4, 2, 2, 2),
        out_indices=(0, 1, 2, 3),
        qkv_bias=True,
        qk_scale=None,
        patch_norm=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        use_abs_pos_embed=False,
        act_cfg=dict(type='GELU'),
        norm_cfg=dict(type='LN', requires_grad=True)),
    decode_head=dict(
        type='SegformerHead',
        in_channels=[32, 64, 128, 256],
        in_index=[0, 1, 2, 3],
        channels=64,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
