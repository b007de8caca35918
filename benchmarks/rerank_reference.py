"""Slow dense reference of k-reciprocal re-ranking (Zhong et al., CVPR 2017).

This is NOT meant for evaluation: it exists so that the tests and
``benchmarks/rerank_benchmark.py`` can check :func:`k_reciprocal_rerank`
against the original algorithm. It follows, step by step and with the same
dense ``N x N`` arrays (``N = Q + G``), the widely used numpy implementation
of "Re-ranking Person Re-identification with k-reciprocal Encoding":
argsort of every row, a Python loop over every image for the k-reciprocal
sets, dense ``V`` and query expansion, an inverted index over every column
and a Python loop over every query for the Jaccard distance. Its time is
``O(N^2 log N)`` and its memory ``O(N^2)``: 19,281 Market-1501 images need
several GB.

It was written from the paper and the well-known steps of that
implementation, with these deliberate, documented differences, none of which
changes the result on tie-free data:

- ``exact=True`` (default) computes the squared distances in float64 and
  stores them rounded to float32. The published copies of the original
  differ here: some take a distance matrix from the caller, some compute it
  in float64 with scipy's ``cdist`` and round it to float16, others in
  float32 with a matrix product. In float32, the order of two images whose
  distances differ by less than the rounding depends on the BLAS and its
  blocking; rounding a float64 value is reproducible. ``exact=False``
  computes them in float32 with a matrix product: norms and product by numpy
  or, with ``float32_backend='torch'``, by torch (as the copy in the BoT
  code does on the CPU), to show how much two float32 copies of the
  original disagree.
- Rows are sorted with a stable sort, so equal (normalised, float32)
  distances are ordered by image index; the original's quicksort leaves that
  order undefined.
- ``V`` and the Jaccard distance are float32, as in Zhong et al.'s code; some
  later copies store them in float16, which changes the distances by up to
  ~1e-3.
- Memory is saved where it cannot change a value: the distance matrix is
  built, normalised and argsorted in row chunks and in place, and only its
  query rows are kept once ``V`` exists. The original is therefore a little
  slower and needs more memory than this reference.
"""
import numpy as np
import torch


def k_reciprocal_rerank_dense(query_feats: np.ndarray,
                              gallery_feats: np.ndarray,
                              k1: int = 20,
                              k2: int = 6,
                              lambda_value: float = 0.3,
                              exact: bool = True,
                              chunk_size: int = 1024,
                              float32_backend: str = 'numpy') -> np.ndarray:
    """Re-rank with the original dense algorithm (slow reference).

    Args:
        query_feats (np.ndarray): Query features, shape ``[Q, D]``.
        gallery_feats (np.ndarray): Gallery features, shape ``[G, D]``.
        k1 (int): Size of the k-reciprocal neighbourhood. Defaults to 20.
        k2 (int): Size of the local query expansion. Defaults to 6.
        lambda_value (float): Weight of the original distance.
            Defaults to 0.3.
        exact (bool): Compute the squared distances in float64 before
            storing them in float32 (see the module docstring).
            Defaults to True.
        chunk_size (int): Rows built and sorted at once; the result does
            not depend on it. Defaults to 1024.
        float32_backend (str): Library computing the float32 norms and
            matrix product when ``exact=False``: ``'numpy'`` or ``'torch'``.
            Defaults to ``'numpy'``.

    Returns:
        np.ndarray: Final distances, float32, shape ``[Q, G]``.
    """
    if float32_backend not in ('numpy', 'torch'):
        raise ValueError("float32_backend must be 'numpy' or 'torch', got "
                         f'{float32_backend!r}')
    num_query = len(query_feats)
    feats = np.concatenate([query_feats, gallery_feats
                            ]).astype(np.float64 if exact else np.float32)
    num_all = len(feats)

    # Squared euclidean distances between all Q + G images.
    if float32_backend == 'torch' and not exact:
        sq_norm = torch.from_numpy(feats).pow(2).sum(1).numpy()
    else:
        sq_norm = (feats**2).sum(1)
    original_dist = np.empty((num_all, num_all), np.float32)
    for start in range(0, num_all, chunk_size):
        end = min(start + chunk_size, num_all)
        if float32_backend == 'torch' and not exact:
            gram = (torch.from_numpy(feats[start:end])
                    @ torch.from_numpy(feats).T).numpy()
        else:
            gram = feats[start:end] @ feats.T
        original_dist[start:end] = (
            sq_norm[start:end, None] + sq_norm[None] - 2 * gram)
    del feats
    # Each column divided by its max, then transposed: row i of the result
    # is column i of the distances over the max of that column.
    original_dist /= np.max(original_dist, axis=0)
    original_dist = original_dist.T
    initial_rank = np.empty((num_all, num_all), np.int32)
    for start in range(0, num_all, chunk_size):
        end = min(start + chunk_size, num_all)
        initial_rank[start:end] = np.argsort(
            original_dist[start:end], axis=1, kind='stable')

    # k-reciprocal sets, their expansion and the Gaussian-kernel weights.
    V = np.zeros((num_all, num_all), np.float32)
    half_k1 = int(np.around(k1 / 2))
    for i in range(num_all):
        forward_k_neigh_index = initial_rank[i, :k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, :k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for candidate in k_reciprocal_index:
            candidate_forward = initial_rank[candidate, :half_k1 + 1]
            candidate_backward = initial_rank[candidate_forward, :half_k1 + 1]
            fi_candidate = np.where(candidate_backward == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward[fi_candidate]
            if len(
                    np.intersect1d(candidate_k_reciprocal_index,
                                   k_reciprocal_index)
            ) > 2 / 3 * len(candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(
                    k_reciprocal_expansion_index, candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = weight / np.sum(weight)
    # Only the query rows of the original distance are used from here on.
    original_dist = np.ascontiguousarray(original_dist[:num_query])

    # Local query expansion: each row becomes the mean of its k2 nearest.
    if k2 != 1:
        V_qe = np.zeros_like(V)
        for i in range(num_all):
            V_qe[i] = np.mean(V[initial_rank[i, :k2]], axis=0)
        V = V_qe
        del V_qe
    del initial_rank

    # Jaccard distance through the inverted index of every column.
    inv_index = [np.where(V[:, j] != 0)[0] for j in range(num_all)]
    jaccard_dist = np.zeros((num_query, num_all), np.float32)
    for i in range(num_query):
        temp_min = np.zeros(num_all, np.float32)
        ind_non_zero = np.where(V[i] != 0)[0]
        for k in ind_non_zero:
            ind_images = inv_index[k]
            temp_min[ind_images] += np.minimum(V[i, k], V[ind_images, k])
        jaccard_dist[i] = 1 - temp_min / (2 - temp_min)
    del V

    final_dist = jaccard_dist * (1 - lambda_value) + \
        original_dist * lambda_value
    return final_dist[:, num_query:]
