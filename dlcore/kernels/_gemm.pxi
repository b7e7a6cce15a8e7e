# GEMM binding (included by _c.pyx).

cdef _matrix(name, x):
    """(array, leading dim, flipped): a 2-D float32 matrix as the C kernel can read it.

    Row-major views with unit column stride (e.g. slices) are used in place; column-major ones
    (e.g. `w.T`) are read as the transpose of their row-major storage, so no copy is made."""
    x = _f32(name, x, 2) if not isinstance(x, np.ndarray) or x.dtype != np.float32 \
        or x.ndim != 2 else x
    cdef Py_ssize_t s0 = x.strides[0], s1 = x.strides[1]
    rows, cols = x.shape
    if s1 == 4 and s0 % 4 == 0 and s0 // 4 >= cols and s0 > 0:
        return x, s0 // 4, False
    if s0 == 4 and s1 % 4 == 0 and s1 // 4 >= rows and s1 > 0:
        return x, s1 // 4, True
    x = np.ascontiguousarray(x)
    return x, max(cols, 1), False


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c, written into c (M, N) when given, else a new array."""
    a_arr, lda, a_flip = _matrix("a", a)
    b_arr, ldb, b_flip = _matrix("b", b)
    m, ka = (a_arr.shape[1], a_arr.shape[0]) if trans_a else a_arr.shape
    kb, n = (b_arr.shape[1], b_arr.shape[0]) if trans_b else b_arr.shape
    if ka != kb:
        raise ValueError(f"gemm: inner dimensions differ: op(a) is {(m, ka)}, op(b) is {(kb, n)}")
    if c is None:
        c = np.empty((m, n), dtype=np.float32)
        beta = 0.0
    else:
        _out_f32("c", c, (m, n))
    cdef int ta = bool(trans_a) != a_flip, tb = bool(trans_b) != b_flip
    cdef int64_t M = m, N = n, K = ka, LDA = lda, LDB = ldb, LDC = max(n, 1)
    cdef float fa = alpha, fb = beta
    cdef const float *pa = _fptr(a_arr)
    cdef const float *pb = _fptr(b_arr)
    cdef float *pc = _wptr(c)
    cdef int code
    with nogil:
        code = dl_sgemm(ta, tb, M, N, K, fa, pa, LDA, pb, LDB, fb, pc, LDC)
    _check(code, "gemm")
    return c
