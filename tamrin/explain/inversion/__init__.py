"""Inverting a CNN's features: what does a layer still know about its input image?

Two answers, as in the two papers p4.q2 of the course asks about:
- learned inversion (Dosovitskiy & Brox, arXiv 1506.02753): an up-convolutional decoder trained to
  map the layer's features of training images back to the images (decoder.py; it returns the
  *expected* image given the features, so whatever the features do not determine comes out blurred);
- optimisation-based inversion (Mahendran & Vedaldi 2015): gradient descent on an input image until
  its features match, with a total-variation prior for natural-looking images (optimize.py).

    feats = layer_features(model, "features.10", x)            # frozen model, no grad
    dec = UpConvDecoder(feats.shape[1:], (3, 32, 32))
    x_rec, hist = invert_by_optimisation(model, "features.10", x, OptimConfig())
"""
from tamrin.explain.inversion.decoder import UpConvDecoder, mse_per_image, psnr
from tamrin.explain.inversion.features import LOGITS, feature_fn, layer_features
from tamrin.explain.inversion.optimize import OptimConfig, invert_by_optimisation, total_variation

__all__ = ["UpConvDecoder", "mse_per_image", "psnr", "LOGITS", "feature_fn", "layer_features", "OptimConfig",
           "invert_by_optimisation", "total_variation"]
