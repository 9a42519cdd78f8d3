r"""The attributes :class:`~pyg_dss.data.SetData` owns (its structure), as
opposed to the user's data (``x``, ``pos``, ``edge_index``, ``y``, ...)."""

__all__ = ["ELEMENT_INDEX_KEYS", "VERTEX_INDEX_KEYS", "NODE_INDEX_KEYS", "SET_KEYS"]

#: Offset by the number of elements when sets are batched.
ELEMENT_INDEX_KEYS = ("element_index",)
#: Offset by the number of shared vertices when sets are batched.
VERTEX_INDEX_KEYS = ("vertex_index", "shared_edge_index")
#: The node-level ones: one entry per node.
NODE_INDEX_KEYS = ("element_index", "vertex_index")
#: Everything a set owns: never copied into or out of elements as user data.
SET_KEYS = frozenset(ELEMENT_INDEX_KEYS + VERTEX_INDEX_KEYS + (
    "shared_edge_attr", "element_set", "num_elements", "num_vertices", "coverage"))
