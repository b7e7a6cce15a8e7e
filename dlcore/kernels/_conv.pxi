# Convolution bindings (included by _c.pyx).

cdef dl_conv2d_t _conv_struct(g) except *:
    """The C view of a geometry checked by `contract`; C checks it again before any access."""
    cdef dl_conv2d_t p
    p.n, p.c, p.h, p.w, p.oc, p.kh, p.kw = g.n, g.c, g.h, g.w, g.oc, g.kh, g.kw
    p.sh, p.sw = g.stride
    p.pt, p.pb, p.pl, p.pr = g.padding
    p.dh, p.dw = g.dilation
    p.groups = g.groups
    if dl_conv2d_check(&p) != DL_OK or (p.oh, p.ow) != (g.oh, g.ow):
        raise RuntimeError(f"conv2d: the C kernel disagrees with the checked geometry {g}")
    return p


cdef dl_conv2d_t _conv_geometry(x_shape, w_shape, stride, padding, dilation, groups) except *:
    return _conv_struct(contract.conv2d(x_shape, w_shape, stride, padding, dilation, groups))


def conv2d_forward(x, w, bias=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                   groups=1):
    x = _f32("x", x, 4)
    w = _f32("w", w, 4)
    cdef dl_conv2d_t p = _conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    cdef const float *pbias = NULL
    if bias is not None:
        bias = _f32("bias", bias, 1)
        if bias.shape[0] != p.oc:
            raise ValueError(f"conv2d: bias must be ({p.oc},), got shape {bias.shape}")
        pbias = _fptr(bias)
    y = np.empty((p.n, p.oc, p.oh, p.ow), dtype=np.float32)
    cdef const float *px = _fptr(x)
    cdef const float *pw = _fptr(w)
    cdef float *py = _wptr(y)
    cdef int code
    with nogil:
        code = dl_conv2d_forward(&p, px, pw, pbias, py)
    _check(code, "conv2d_forward")
    return y


def conv2d_backward(x, w, dy, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
                    need_dx=True, need_dw=True, need_db=True):
    x = _f32("x", x, 4)
    w = _f32("w", w, 4)
    dy = _f32("dy", dy, 4)
    cdef dl_conv2d_t p = _conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if dy.shape != (p.n, p.oc, p.oh, p.ow):
        raise ValueError(f"conv2d_backward: dy must be {(p.n, p.oc, p.oh, p.ow)}, "
                         f"got shape {dy.shape}")
    dx = np.empty(x.shape, dtype=np.float32) if need_dx else None
    dw = np.empty(w.shape, dtype=np.float32) if need_dw else None
    db = np.empty((p.oc,), dtype=np.float32) if need_db else None
    cdef const float *px = _fptr(x)
    cdef const float *pw = _fptr(w)
    cdef const float *pdy = _fptr(dy)
    cdef float *pdx = _wptr(dx) if need_dx else NULL
    cdef float *pdw = _wptr(dw) if need_dw else NULL
    cdef float *pdb = _wptr(db) if need_db else NULL
    cdef int code
    with nogil:
        code = dl_conv2d_backward(&p, px, pw, pdy, pdx, pdw, pdb)
    _check(code, "conv2d_backward")
    return dx, dw, db


def conv2d_backward_input(dy, w, x_shape, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                          groups=1):
    x_shape = tuple(int(v) for v in x_shape)
    w = _f32("w", w, 4)
    dy = _f32("dy", dy, 4)
    cdef dl_conv2d_t p = _conv_geometry(x_shape, w.shape, stride, padding, dilation, groups)
    if dy.shape != (p.n, p.oc, p.oh, p.ow):
        raise ValueError(f"conv2d_backward_input: dy must be {(p.n, p.oc, p.oh, p.ow)} for "
                         f"x_shape {x_shape}, got shape {dy.shape}")
    dx = np.empty(x_shape, dtype=np.float32)
    cdef const float *pw = _fptr(w)
    cdef const float *pdy = _fptr(dy)
    cdef float *pdx = _wptr(dx)
    cdef int code
    with nogil:  # x is read only for dw: none is asked, so none is given
        code = dl_conv2d_backward(&p, NULL, pw, pdy, pdx, NULL, NULL)
    _check(code, "conv2d_backward_input")
    return dx


cdef dl_conv2d_t _im2col_geometry(x_shape, kernel_size, stride, padding, dilation) except *:
    return _conv_struct(contract.im2col(x_shape, kernel_size, stride, padding, dilation))


def im2col(x, kernel_size, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    x = _f32("x", x, 3)
    cdef dl_conv2d_t p = _im2col_geometry(x.shape, kernel_size, stride, padding, dilation)
    cols = np.empty((p.c * p.kh * p.kw, p.oh * p.ow), dtype=np.float32)
    cdef const float *px = _fptr(x)
    cdef float *pc = _wptr(cols)
    cdef int code
    with nogil:
        code = dl_im2col(&p, px, 0, p.c, pc)
    _check(code, "im2col")
    return cols


def col2im(cols, x_shape, kernel_size, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)):
    x_shape = tuple(int(v) for v in x_shape)
    cdef dl_conv2d_t p = _im2col_geometry(x_shape, kernel_size, stride, padding, dilation)
    cols = _f32("cols", cols, 2)
    if cols.shape != (p.c * p.kh * p.kw, p.oh * p.ow):
        raise ValueError(f"col2im: cols must be {(p.c * p.kh * p.kw, p.oh * p.ow)} for "
                         f"x_shape {x_shape}, got shape {cols.shape}")
    x = np.zeros(x_shape, dtype=np.float32)
    cdef const float *pc = _fptr(cols)
    cdef float *px = _wptr(x)
    cdef int code
    with nogil:
        code = dl_col2im(&p, pc, 0, p.c, px)
    _check(code, "col2im")
    return x
