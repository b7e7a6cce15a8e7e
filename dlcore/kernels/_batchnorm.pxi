# Batch-norm bindings (included by _c.pyx).

cdef _f32_or_none(name, a):
    """A (C,) array already shape-checked by `contract` as float32, or None."""
    return None if a is None else _f32(name, a, 1)


def batch_norm_forward(x, weight=None, bias=None, mean=None, var=None, eps=1e-5,
                       training=True):
    x = _f32("x", x, -1)
    g, eps = contract.batch_norm_forward(x.shape, weight, bias, mean, var, eps, training)
    weight, bias = _f32_or_none("weight", weight), _f32_or_none("bias", bias)
    if training:
        mean, var = np.empty(g.c, np.float32), np.empty(g.c, np.float32)
    else:  # copies: C reads them, and the caller may update its running statistics later
        mean, var = _f32("mean", mean, 1).copy(), _f32("var", var, 1).copy()
    inv_std = np.empty(g.c, np.float32)
    y = np.empty(x.shape, np.float32)
    cdef int64_t n = g.n, c = g.c, s = g.s
    cdef const float *px = _fptr(x)
    cdef const float *pw = _fptr(weight) if weight is not None else NULL
    cdef const float *pb = _fptr(bias) if bias is not None else NULL
    cdef float *pm = _wptr(mean)
    cdef float *pv = _wptr(var)
    cdef float *pi = _wptr(inv_std)
    cdef float *py = _wptr(y)
    cdef double e = eps
    cdef int code, t = bool(training)
    with nogil:
        code = dl_batchnorm_forward(n, c, s, px, pw, pb, e, t, pm, pv, pi, py)
    _check(code, "batch_norm_forward")
    return y, mean, var, inv_std


def batch_norm_backward(x, dy, mean, inv_std, weight=None, training=True, need_dx=True,
                        need_dweight=True, need_dbias=True):
    x = _f32("x", x, -1)
    dy = _f32("dy", dy, -1)
    g = contract.batch_norm_backward(x.shape, dy.shape, mean, inv_std, weight)
    mean, inv_std = _f32("mean", mean, 1), _f32("inv_std", inv_std, 1)
    weight = _f32_or_none("weight", weight)
    dx = np.empty(x.shape, np.float32) if need_dx else None
    dweight = np.empty(g.c, np.float32) if need_dweight else None
    dbias = np.empty(g.c, np.float32) if need_dbias else None
    cdef int64_t n = g.n, c = g.c, s = g.s
    cdef const float *px = _fptr(x)
    cdef const float *pdy = _fptr(dy)
    cdef const float *pm = _fptr(mean)
    cdef const float *pi = _fptr(inv_std)
    cdef const float *pw = _fptr(weight) if weight is not None else NULL
    cdef float *pdx = _wptr(dx) if need_dx else NULL
    cdef float *pdw = _wptr(dweight) if need_dweight else NULL
    cdef float *pdb = _wptr(dbias) if need_dbias else NULL
    cdef int code, t = bool(training)
    with nogil:
        code = dl_batchnorm_backward(n, c, s, px, pdy, pm, pi, pw, t, pdx, pdw, pdb)
    _check(code, "batch_norm_backward")
    return dx, dweight, dbias
