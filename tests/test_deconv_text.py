"""deconv-inversion's generated sentences: every branch, from made-up numbers (no training)."""
import copy

import pytest

from tamrin.experiments import _deconv_text as T


def _sal(d=0.95, gb=0.80, g=0.40, areas=(0.2, 0.22, 0.18), rand_area=0.3, img=(0.3, 0.9, 0.5), patch_areas=None, rand_patch=0.3):
    methods = {}
    patch_areas = patch_areas or areas
    for i, (key, label, corr) in enumerate((("gradient", "gradient", g), ("deconvnet", "deconvnet", d), ("guided", "guided backprop", gb),
                                            ("gradcam", "Grad-CAM (reference)", 0.2))):
        methods[key] = {"label": label, "corr_mean": corr, "corr_median": corr, "corr_above_0_9": 0.5, "signed_corr_mean": corr - 0.3,
                        "image_corr_mean": (*img, 0.1)[i], "deletion": [0.6, 0.5, 0.4, 0.3], "deletion_area": (*areas, 0.28)[i],
                        "deletion_patch": [0.6, 0.45, 0.35, 0.2], "deletion_patch_area": (*patch_areas, 0.28)[i]}
    return {"n": 500, "fractions": [0.0, 0.05, 0.1, 0.3], "accuracy": 0.6, "methods": methods, "patch": 4,
            "random": {"deletion": [0.6, 0.59, 0.58, 0.5], "deletion_area": rand_area,
                       "deletion_patch": [0.6, 0.58, 0.57, 0.52], "deletion_patch_area": rand_patch}}


def _rows(mses=(0.01, 0.02, 0.04), logit_mse=0.05, colour=0.7):
    rows = [{"layer": f"features.{i}", "label": f"features.{i} (x)", "mse": m, "psnr": -10 * __import__("math").log10(m), "dims": 100,
             "colour_corr": 0.9} for i, m in enumerate(mses)]
    rows.append({"layer": "logits", "label": "the logits (10)", "mse": logit_mse, "psnr": 13.0, "dims": 10, "colour_corr": colour})
    return rows


BASE = {"mse": 0.06, "psnr": 12.2}
OPT = {"label": "features.2 (64x4x4)", "n": 6, "steps": 300, "tv_weight": 0.05, "opt_feature_error": 0.1, "dec_feature_error": 0.7,
       "opt_mse": 0.06, "dec_mse": 0.04, "opt_psnr": 12.0, "dec_psnr": 14.0}


def test_specificity_branches():
    s = T.specificity_text(_sal(d=0.95, gb=0.80, g=0.40))
    assert "nearly the same map" in s and "lowers the correlation by 0.15" in s and "Only plain gradients" in s
    s = T.specificity_text(_sal(d=0.80, gb=0.97, g=0.40))
    assert "depend less on the class than plain gradients" in s and "even less class-specific (0.97)" in s
    s = T.specificity_text(_sal(d=0.50, gb=0.51, g=0.60))
    assert "not less class-specific than plain gradients" in s and "about as class-specific" in s
    assert "Plain gradients are not more class-specific" in s
    assert "500 held-out images" in s and "0.50 for the deconvnet" in s


def test_image_specificity_branches():
    s = T.specificity_text(_sal(d=0.80, gb=0.95, img=(0.3, 0.9, 0.5)))
    assert "0.90 (deconvnet)" in s and "For deconvnet the class changes the map more than the image does (0.90 across images vs 0.80" in s
    assert "; for guided backprop the image changes the map more than the class does" in s
    assert "only through the max-pooling switches" in s
    s = T.image_specificity_text(_sal(d=0.80, gb=0.50, img=(0.3, 0.81, 0.9)))
    assert "image and class change the map about equally" in s and "the class changes the map more than the image does (0.90" in s
    assert "max-pooling switches" not in s


def test_deletion_branches():
    s = T.deletion_text(_sal())
    assert "remove the evidence faster than random removal." in s and "guided backprop's" in s  # lowest area 0.18
    assert "With the top 10% of the image removed as single pixels" in s and "against 58.0%" in s
    assert "Removing 4x4 squares instead, with the top 10%" in s
    assert "the harder baseline" not in s
    s = T.deletion_text(_sal(areas=(0.2, 0.35, 0.25)))
    assert "gradient, guided backprop remove the evidence faster than random removal; deconvnet not." in s
    s = T.deletion_text(_sal(areas=(0.31, 0.35, 0.32), patch_areas=(0.2, 0.25, 0.4)))
    assert "no rule removes the evidence faster than random single pixels" in s and "the harder baseline" in s
    assert "gradient, deconvnet remove the evidence faster than random removal; guided backprop not." in s
    s = T.deletion_text(_sal(areas=(0.2, 0.35, 0.4)))
    assert "gradient removes the evidence" in s


def test_inversion_branches():
    s = T.inversion_text(_rows(), BASE)
    assert "grows with every step in depth" in s and "0.0100" in s and "below the 0.0600" in s
    assert "colour and a rough layout survive up to the logits" in s
    s = T.inversion_text(_rows(mses=(0.01, 0.03, 0.02), colour=0.4), BASE)
    assert "grows with depth overall, though not at every step" in s and "some colour information survives" in s
    s = T.inversion_text(_rows(mses=(0.03, 0.02), logit_mse=0.07, colour=0.1), BASE)
    assert "does not grow with depth" in s and "not below the 0.0600" in s and "keep almost nothing" in s
    s = T.inversion_text(_rows(mses=(0.03,)), BASE)
    assert "grows" not in s and "From the 10 class scores" in s


def test_optimisation_branches():
    assert "matches the features more closely yet is further from the image" in T.optimisation_text(OPT)
    o = dict(OPT, opt_feature_error=0.9)
    assert "closer to the image and to its features" in T.optimisation_text(o)
    o = dict(OPT, opt_mse=0.01)
    assert "closer both in features and in pixels" in T.optimisation_text(o)
    o = dict(OPT, opt_mse=0.01, opt_feature_error=0.9)
    assert "TV prior, not the features" in T.optimisation_text(o)


def test_answer_branches():
    paras = T.answer_p4q2(_sal(d=0.95, gb=0.80, g=0.40), _rows(), BASE, OPT)
    assert len(paras) == 3 and paras[0].startswith("**Deconvolution") and paras[1].startswith("**Inversion")
    assert "nearly independently of the class" in paras[0] and "forward mask makes its maps more class-specific" in paras[0]
    assert "only plain gradients clearly follow the class" in paras[0] and "All three still point" in paras[0]
    assert "most salient 4x4 squares first" in paras[0] and "Removed as single pixels" not in paras[0]
    assert "PSNR falls from" in paras[1] and "still correlates strongly" in paras[1] and "beats the mean-image baseline" in paras[1]
    assert "matches the features more closely but lands further" in paras[1]
    paras = T.answer_p4q2(_sal(d=0.80, gb=0.97, g=0.90, patch_areas=(0.2, 0.35, 0.25)), _rows(mses=(0.04, 0.01), logit_mse=0.07, colour=0.2),
                          BASE, dict(OPT, opt_mse=0.01))
    assert "only partly class-dependent" in paras[0] and "even more class-blind" in paras[0]
    assert "plain gradients do not follow the class more clearly" in paras[0] and "random 4x4 squares only for gradient, guided backprop" in paras[0]
    assert "does not fall" in paras[1] and "correlates only weakly" in paras[1] and "does not beat" in paras[1]
    assert "reaches MSE 0.0100 against the decoder's 0.0400" in paras[1]
    paras = T.answer_p4q2(_sal(d=0.6, gb=0.6, patch_areas=(0.4, 0.4, 0.4)), _rows(), BASE, None)
    assert "about as class-specific" in paras[0] and "None of them" in paras[0] and "Optimisation" not in paras[1]
    paras = T.answer_p4q2(_sal(rand_area=0.1), _rows(), BASE, None)
    assert "Removed as single pixels, random ones hurt more" in paras[0]


def test_inputs_are_not_modified():
    sal, rows = _sal(), _rows()
    before = copy.deepcopy((sal, rows))
    T.answer_p4q2(sal, rows, BASE, OPT)
    T.specificity_text(sal), T.deletion_text(sal), T.inversion_text(rows, BASE)
    assert (sal, rows) == before


@pytest.mark.parametrize("a,b,want", [(0.5, 0.6, "lower"), (0.6, 0.5, "higher"), (0.5, 0.52, "same")])
def test_compare(a, b, want):
    assert T._compare(a, b) == want
