# The salient-object ("main subject") model behind ``--roi auto`` on photographs: the CamVid model's backbone (same
# sizes, so training starts from its weights) with a narrower SegFormer head and two classes. Every image is run
# resized to 256x256 (``square`` in roicodec.segment.sources), as salient-object models are, so the backbone can
# carry an absolute position embedding of that size: where a subject sits in the frame is half of what makes it
# the subject, and Swin's relative positions alone cannot see it.
num_classes = 2
class_names = ('background', 'subject')
roi_classes = ('subject',)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='SwinTransformer',
        pretrain_img_size=256,
        in_channels=3,
        embed_dims=48,
        patch_size=4,
        window_size=7,
        mlp_ratio=4,
        depths=(2, 2, 2, 2),
        num_heads=(2, 4, 8, 16),
        strides=(4, 2, 2, 2),
        out_indices=(0, 1, 2, 3),
        qkv_bias=True,
        qk_scale=None,
        patch_norm=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        use_abs_pos_embed=True,
        act_cfg=dict(type='GELU'),
        norm_cfg=dict(type='LN', requires_grad=True)),
    decode_head=dict(
        type='SegformerHead',
        in_channels=[48, 96, 192, 384],
        in_index=[0, 1, 2, 3],
        channels=64,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
