"""pyg-dss: DSS layers (Maron et al., ICML 2020) for PyTorch Geometric."""
from pyg_dss.data import SetData, split_sets

__version__ = "0.1.0"
__all__ = ["SetData", "split_sets", "__version__"]
