"""The data layer: every data set as uint8 NHWC images + int64 labels (`ArrayDataset`).

See docs/CONTRACTS.md. Real data comes from an explicit folder, ../shared/data, the cache or a
download; embedded stand-ins (sklearn digits, synthetic shapes) are used, with a notice, only when
none of those has it.
"""
from .dataset import ArrayDataset, stratified_split, to_tensor
from .embedded import embedded_digits, synthetic_images
from .paths import cache_dir, shared_data_dir
from .folder import load_image_folder
from .sources import load_cifar10, load_mnist

__all__ = ["ArrayDataset", "load_mnist", "load_cifar10", "load_image_folder", "embedded_digits", "synthetic_images",
           "stratified_split", "to_tensor", "shared_data_dir", "cache_dir"]
