# Fused softmax cross-entropy binding (included by _c.pyx).

REDUCTIONS = {"none": DL_REDUCE_NONE, "mean": DL_REDUCE_MEAN, "sum": DL_REDUCE_SUM}


def softmax_cross_entropy(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0, need_grad=True):
    logits = _f32("logits", logits, 2)
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {sorted(REDUCTIONS)}, got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(target, np.ndarray) or target.dtype.kind not in "iu":
        raise TypeError(f"target must be an integer numpy.ndarray of class ids, got "
                        f"{getattr(target, 'dtype', type(target).__name__)}")
    n, c = logits.shape
    if target.shape != (n,):
        raise ValueError(f"target must have shape ({n},) for logits {logits.shape}, "
                         f"got {target.shape}")
    if c == 0:
        raise ValueError(f"logits must have at least one class, got shape {logits.shape}")
    target = np.ascontiguousarray(target, dtype=np.int64)
    loss = np.empty((n,) if reduction == "none" else (), dtype=np.float32)
    dlogits = np.empty((n, c), dtype=np.float32) if need_grad else None
    cdef int64_t N = n, C = c, ign = ignore_index
    cdef float eps = label_smoothing
    cdef int red = REDUCTIONS[reduction], code
    cdef const float *pl = _fptr(logits)
    cdef const int64_t *pt = <const int64_t *>cnp.PyArray_DATA(target)
    cdef float *ploss = _wptr(loss)
    cdef float *pd = _wptr(dlogits) if need_grad else NULL
    with nogil:
        code = dl_softmax_xent(N, C, pl, pt, ign, eps, red, ploss, pd)
    if code == DL_EINVAL:
        bad = target[(target != ignore_index) & ((target < 0) | (target >= c))]
        raise ValueError(f"target holds class ids outside [0, {c}): {bad[:5].tolist()}")
    _check(code, "softmax_cross_entropy")
    return loss, dlogits
