"""tamrin.models: CNNs behind one interface, built by name.

    from tamrin.models import create, list_models
    model = create("mobilenet_v2", num_classes=10, width_mult=0.5, input_size=32)
"""
from tamrin.models.registry import create, list_models, register_model

# Importing the modules registers the models.
from tamrin.models import cnn_baseline, conv_mobilenet, fast_cnn, inception, mobilenet_v1, mobilenet_v2, vgg  # noqa: E402,F401
from tamrin.models.complexity import count_macs, count_params  # noqa: E402

__all__ = ["create", "list_models", "register_model", "count_macs", "count_params"]
