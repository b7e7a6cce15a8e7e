# Fused softmax cross-entropy binding (included by _c.pyx).

_REDUCTIONS = {"none": DL_REDUCE_NONE, "mean": DL_REDUCE_MEAN, "sum": DL_REDUCE_SUM}


def softmax_cross_entropy(logits, target, reduction="mean", ignore_index=-100,
                          label_smoothing=0.0, need_grad=True):
    logits = _f32("logits", logits, 2)
    label_smoothing = contract.softmax_cross_entropy(logits, target, reduction, label_smoothing)
    n, c = logits.shape
    target = np.ascontiguousarray(target, dtype=np.int64)
    loss = np.empty((n,) if reduction == "none" else (), dtype=np.float32)
    dlogits = np.empty((n, c), dtype=np.float32) if need_grad else None
    cdef int64_t N = n, C = c, ign = ignore_index
    cdef float eps = label_smoothing
    cdef int red = _REDUCTIONS[reduction], code
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
