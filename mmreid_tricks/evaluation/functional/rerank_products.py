"""Squared distances of blocks of images, as re-ranking's search reads them.

Two ways to compute them, each with a worst-case error bound (see
:meth:`BlockProducts.bound`), chosen by :func:`block_products`:

- :class:`Float32Products`: one float32 matrix product of factors
  ``[x, |x|^2, 1] . [-2 y, 1, |y|^2]``, on any device;
- :class:`Int8Products`: every centred feature written as two int8 digit
  vectors, ``x = s (256 h + l) + e``, and exact int32 products of them. On
  CPUs with AMX tiles an int8 product runs about 8x faster than a float32
  one (5.3 vs 51 ms for 2048 x 2048 x 2048 on 2 cores); the three needed
  (in two calls) and their combination take 23 ms per 2048 x 2048 block
  at 2048-d, under half of float32's, with a bound about as tight.

Both are filled row by row from the exact (float64) centred features by
:class:`.rerank_features.CentredFeatures`.
"""
import contextlib
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor

from .distances import factor_width

# Float32 unit roundoff.
FLOAT32_U = 2.0**-24
# Slack on the error bounds, covering the rounding of the bounds' own
# arithmetic (a few u relative, far below 10%).
BOUND_SLACK = 1.1


@contextlib.contextmanager
def full_float32_matmul() -> Iterator[None]:
    """Plain float32 matrix products (no TF32 or bfloat16 passes), whose
    error bound :class:`Float32Products` relies on."""
    precision = torch.get_float32_matmul_precision()
    allow_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.set_float32_matmul_precision('highest')
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32


class BlockProducts:
    """Float32 squared distances of blocks of ``N`` images.

    Attributes:
        coef (float): See :meth:`bound`.
        length (Tensor): Norms of the exact centred features, float64
            ``[N]``.
        eps, ell (Tensor): Per image, float64 ``[N]``; see :meth:`bound`.
    """
    coef: float
    length: Tensor
    eps: Tensor
    ell: Tensor

    def __init__(self, num: int, like: Tensor) -> None:
        self.length = like.new_zeros(num, dtype=torch.float64)
        self.eps = torch.zeros_like(self.length)
        self.ell = torch.zeros_like(self.length)
        self._column_side: Tuple[Optional[slice],
                                 Optional[Tensor]] = (None, None)

    def set_rows(self, start: int, rows: Tensor, sq: Tensor) -> None:
        """Take in the exact centred features of the images from ``start``,
        float64 ``[R, D]``, and their squared norms, ``[R]``."""
        self.length[start:start + len(rows)] = sq.sqrt()

    def column_side(self, cols: slice) -> Tensor:
        """The right operand of the products for the images ``cols``, kept
        for the last range asked for: a block column serves every block
        above the diagonal in turn, and the metric's rows the gallery."""
        key, side = self._column_side
        if key != cols:
            side = self._build_column_side(cols)
            self._column_side = (cols, side)
        return side

    def _build_column_side(self, cols: slice) -> Tensor:
        raise NotImplementedError

    def block(self,
              rows: slice,
              cols: slice,
              out: Optional[Tensor] = None) -> Tensor:
        """Squared distances of the images ``rows`` to the images ``cols``,
        float32 ``[len(rows), len(cols)]``, written into ``out`` if given
        (contiguous, that shape)."""
        raise NotImplementedError

    def bound(self, x: Tensor, y: Tensor) -> Tensor:
        """Bound on ``|block value - d(x, y)|`` for the images ``x`` and
        ``y`` (index tensors, broadcast together), ``d`` being the exact
        squared distance of the centred features:
        ``coef (|x| + |y|)^2 + 2 (eps_x |y| + |x| eps_y + eps_x eps_y +
        ell_x ell_y)``, float64."""
        return self._bound(self.length[x], self.eps[x], self.ell[x],
                           self.length[y], self.eps[y], self.ell[y])

    def bound_to_any(self, x: Tensor) -> Tensor:
        """A bound of :meth:`bound` from the images ``x`` to every image:
        it increases with each per-image term, so their maxima bound all."""
        return self._bound(self.length[x], self.eps[x], self.ell[x],
                           self.length.max(), self.eps.max(), self.ell.max())

    def _bound(self, len_x: Tensor, eps_x: Tensor, ell_x: Tensor,
               len_y: Tensor, eps_y: Tensor, ell_y: Tensor) -> Tensor:
        return self.coef * (len_x + len_y).square() + 2 * (
            eps_x * len_y + len_x * eps_y + eps_x * eps_y + ell_x * ell_y)


class Float32Products(BlockProducts):
    """One float32 product of factors per block.

    ``left[i] . right(j) = |x_i - x_j|^2`` with ``left[i] = [x_i, |x_i|^2,
    1]`` and ``right(j) = [-2 x_j, 1, |x_j|^2]`` (zero-padded to a multiple
    of 16 columns). Only ``left`` is stored; the right factors are the
    :meth:`column_side`, built into one reused buffer (a fresh one would be
    mapped and page-faulted anew each time).

    Error: ``gamma_n = n u / (1 - n u)`` bounds a float32 dot product of
    ``n`` terms in any summation order (``D + 2`` here); ``n = D + 8``
    also covers the rounding of the features and norms to float32. So
    ``coef = gamma_{D+8}`` and ``eps = ell = 0``.
    """

    def __init__(self, num: int, dim: int, like: Tensor) -> None:
        super().__init__(num, like)
        self.dim = dim
        self.left = like.new_zeros((num, factor_width(dim)),
                                   dtype=torch.float32)
        self.left[:, dim + 1] = 1
        roundoff = (dim + 8) * FLOAT32_U
        self.coef = BOUND_SLACK * roundoff / (1 - roundoff)
        self._right_buf = like.new_empty(0, dtype=torch.float32)

    def set_rows(self, start: int, rows: Tensor, sq: Tensor) -> None:
        super().set_rows(start, rows, sq)
        end = start + len(rows)
        self.left[start:end, :self.dim] = rows
        self.left[start:end, self.dim] = sq

    def _build_column_side(self, cols: slice) -> Tensor:
        """Right factors of the images ``cols``, ``[len(cols), W]``."""
        left, dim = self.left[cols], self.dim
        if self._right_buf.numel() < left.numel():
            self._right_buf = left.new_empty(left.numel())
        right = self._right_buf[:left.numel()].view_as(left)
        # Scaling by -2 is exact: the same rounded features as ``left``.
        torch.mul(left[:, :dim], -2, out=right[:, :dim])
        right[:, dim], right[:, dim + 1] = 1, left[:, dim]
        right[:, dim + 2:] = 0
        return right

    def block(self,
              rows: slice,
              cols: slice,
              out: Optional[Tensor] = None) -> Tensor:
        right = self.column_side(cols)
        with full_float32_matmul():
            return torch.mm(self.left[rows], right.t(), out=out)


# Largest |x / s| of a digit split: below 127 * 256 with room for the
# float32 rounding of the scale, so that ``h = round(x / 256 s)`` fits int8.
_DIGIT_RANGE = 32000
# Rows per tile of a block whose two int32 products are combined at once
# (2 x 16 MB of int32 buffers at 2048 columns). Measured per 2048 x 2048
# block at 2048-d on 2 cores: 23 ms for tiles of 2048 or 1024 rows, 24 ms
# for 512, 31 ms for 256 (the products' own overhead).
_TILE_ROWS = 2048
# Columns per tile.
_TILE_COLS = 2048


class Int8Products(BlockProducts):
    """Exact int32 products of int8 digits of the features.

    Each centred feature is ``x = s (256 h + l) + e``: ``h``, ``l`` int8
    vectors, ``s = max_k |x_k| / 32000`` rounded to float32, and a
    residual ``|e_k| <= s`` (``s / 2`` but where ``l`` is clamped to 127,
    plus float32 rounding), stored as ``[h, l]``, ``[N, 2 D]``. Then
    ``x.y`` is taken as ``65536 s_x s_y (h.h' + (h.l' + l.h') / 256)``:
    two int32 products with no rounding (``h.h'`` and ``[h, l] . [l',
    h']``; ``|h.l' + l.h'| <= 2^15 D < 2^31`` for ``D`` up to 2^16, as
    ``|h| <= 125``), combined in float32 with the exact squared norms.
    Leaving out ``s_x s_y l.l'``, which the bound covers, saves a third of
    the products' time (25 vs 16 ms per 2048 x 2048 block at 2048-d).

    Error: ``|x.y - x^.y^| <= |e_x| |y| + |x| |e_y| + |e_x| |e_y|`` and
    ``|s_x s_y l.l'| <= ell_x ell_y`` with ``eps = |e|``, ``ell = s |l|``
    (with slack); the about ten float32 roundings of the combination, each
    at most ``u (|x| + |y|)^2``, make ``coef = 16 u``.
    """

    def __init__(self, num: int, dim: int, like: Tensor) -> None:
        if dim > 2**16:
            raise ValueError(f'int8 products hold up to 2^16 dims, got {dim}')
        super().__init__(num, like)
        self.dim = dim
        self.digits = like.new_empty((num, 2 * dim), dtype=torch.int8)
        # 256 s, exact in float32, and the float32 squared norms.
        self.scale = like.new_empty(num, dtype=torch.float32)
        self.sq = like.new_empty(num, dtype=torch.float32)
        self.coef = BOUND_SLACK * 16 * FLOAT32_U
        tile = min(_TILE_ROWS, num) * min(_TILE_COLS, num)
        self._bufs = like.new_empty((2, tile), dtype=torch.int32)

    def set_rows(self, start: int, rows: Tensor, sq: Tensor) -> None:
        super().set_rows(start, rows, sq)
        end = start + len(rows)
        feats = rows.float()
        scale = torch.linalg.vector_norm(feats, float('inf'), dim=1)
        scale = scale.div_(_DIGIT_RANGE)
        scale[scale == 0] = 1  # an all-zero row: zero digits
        # q = x / s rounded (2 u, with x's own rounding to float32); then
        # q - 256 h and its part r after l = round(q - 256 h) are exact.
        quot = feats.div_(scale[:, None])
        high = quot.div(256).round_()
        self.digits[start:end, :self.dim] = high
        low = quot.sub_(high.mul_(256))
        del high
        rest = low
        low = low.round().clamp_(-128, 127)
        self.digits[start:end, self.dim:] = low
        rest -= low
        length = self.length[start:end]
        # |e| <= s (|r| + 2 u |q|) and |q| <= |x| / s (1 + 2 u).
        self.eps[start:end] = BOUND_SLACK * (
            scale.double() * torch.linalg.vector_norm(rest, dim=1).double() +
            3 * FLOAT32_U * length)
        self.ell[start:end] = BOUND_SLACK * scale.double() * (
            torch.linalg.vector_norm(low, dim=1).double())
        self.scale[start:end] = scale.mul_(256)
        self.sq[start:end] = sq

    def _build_column_side(self, cols: slice) -> Tensor:
        """``[l, h]`` of the images ``cols``, ``[len(cols), 2 D]``."""
        digits, dim = self.digits[cols], self.dim
        return torch.cat([digits[:, dim:], digits[:, :dim]], 1)

    def block(self,
              rows: slice,
              cols: slice,
              out: Optional[Tensor] = None) -> Tensor:
        num = len(self.sq)
        row_ids, col_ids = range(num)[rows], range(num)[cols]
        if out is None:
            out = self.sq.new_empty(len(row_ids), len(col_ids))
        swapped = self.column_side(cols)
        for r in range(0, len(row_ids), _TILE_ROWS):
            r_end = min(r + _TILE_ROWS, len(row_ids))
            for c in range(0, len(col_ids), _TILE_COLS):
                c_end = min(c + _TILE_COLS, len(col_ids))
                self._tile(
                    slice(row_ids.start + r, row_ids.start + r_end),
                    slice(col_ids.start + c, col_ids.start + c_end),
                    swapped[c:c_end], out[r:r_end, c:c_end])
        return out

    def _tile(self, rows: slice, cols: slice, swapped: Tensor,
              out: Tensor) -> None:
        p_high, p_cross = (
            buf[:out.numel()].view(out.shape) for buf in self._bufs)
        dim = self.dim
        torch._int_mm(
            self.digits[rows, :dim], self.digits[cols, :dim].t(), out=p_high)
        torch._int_mm(self.digits[rows], swapped.t(), out=p_cross)
        # 256 t with t = h.h' + (h.l' + l.h') / 256, where x.y = 65536 s_x
        # s_y t; int32 to float32 by copies, which run 2x faster than mixed
        # arithmetic.
        out.copy_(p_cross)
        p_high_float = p_cross.view(torch.float32)
        p_high_float.copy_(p_high)
        out.add_(p_high_float, alpha=256)
        # |x|^2 + |y|^2 - 2 s_x (256 s_y) (256 t)
        out.mul_(self.scale[rows, None] / -128)
        torch.addcmul(
            self.sq[rows, None], out, self.scale[None, cols], out=out)
        out.add_(self.sq[None, cols])


def fast_int8(device: torch.device) -> bool:
    """Whether :class:`Int8Products` beat :class:`Float32Products` on
    ``device``: CPUs with AMX tiles (measured). Without them (AVX-512 VNNI
    or AVX2 alone) four int8 products are not faster than one float32
    product, and GPUs run float32 at full speed."""
    if device.type != 'cpu':
        return False
    amx = getattr(torch.cpu, '_is_amx_tile_supported', None)
    return bool(amx is not None and amx())


def block_products(num: int,
                   dim: int,
                   like: Tensor,
                   arithmetic: Optional[str] = None) -> BlockProducts:
    """Empty products for ``num`` images of ``dim`` features on ``like``'s
    device: int8 where :func:`fast_int8`, else float32; ``arithmetic``
    (``'int8'`` or ``'float32'``) forces one."""
    if arithmetic is None:
        arithmetic = 'int8' if fast_int8(like.device) else 'float32'
    if arithmetic == 'int8':
        if like.device.type != 'cpu':
            raise ValueError('int8 products run on the CPU only, got '
                             f"features on {like.device}: use 'float32'")
        return Int8Products(num, dim, like)
    if arithmetic == 'float32':
        return Float32Products(num, dim, like)
    raise ValueError(
        f"arithmetic must be 'int8' or 'float32', got {arithmetic!r}")
