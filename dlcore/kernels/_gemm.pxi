# GEMM binding (included by _c.pyx).

cdef tuple _matrix(name, x):
    """(array, leading dim, flipped): a 2-D float32 matrix as the C kernel can read it.

    Row-major views with unit column stride (e.g. slices) are used in place; column-major ones
    (e.g. `w.T`) are read as the transpose of their row-major storage, so no copy is made."""
    if not (isinstance(x, np.ndarray) and cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT32
            and cnp.PyArray_NDIM(x) == 2):
        _f32(name, x, 2)                        # raises the right error
    cdef cnp.ndarray arr = x
    cdef Py_ssize_t s0 = cnp.PyArray_STRIDE(arr, 0), s1 = cnp.PyArray_STRIDE(arr, 1)
    cdef Py_ssize_t rows = cnp.PyArray_DIM(arr, 0), cols = cnp.PyArray_DIM(arr, 1)
    if s1 == 4 and s0 % 4 == 0 and s0 // 4 >= cols and s0 > 0:
        return arr, s0 // 4, False
    if s0 == 4 and s1 % 4 == 0 and s1 // 4 >= rows and s1 > 0:
        return arr, s1 // 4, True
    return np.ascontiguousarray(arr), max(cols, 1), False


def gemm(a, b, c=None, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """alpha * op(a) @ op(b) + beta * c, written into c (M, N) when given, else a new array."""
    cdef cnp.ndarray a_arr, b_arr
    cdef int64_t lda, ldb
    a_arr, lda, a_flip = _matrix("a", a)
    b_arr, ldb, b_flip = _matrix("b", b)
    cdef int64_t m = cnp.PyArray_DIM(a_arr, 1 if trans_a else 0)
    cdef int64_t ka = cnp.PyArray_DIM(a_arr, 0 if trans_a else 1)
    cdef int64_t kb = cnp.PyArray_DIM(b_arr, 1 if trans_b else 0)
    cdef int64_t n = cnp.PyArray_DIM(b_arr, 0 if trans_b else 1)
    cdef cnp.npy_intp dims[2]
    if ka != kb:
        raise ValueError(f"gemm: inner dimensions differ: op(a) is {(m, ka)}, op(b) is {(kb, n)}")
    if c is None:
        dims[0], dims[1] = m, n
        c = cnp.PyArray_EMPTY(2, dims, cnp.NPY_FLOAT32, 0)
        beta = 0.0
    else:
        _out_f32("c", c, (m, n))
    cdef int ta = bool(trans_a) != a_flip, tb = bool(trans_b) != b_flip
    cdef int64_t ldc = max(n, 1)
    cdef float fa = alpha, fb = beta
    cdef const float *pa = _fptr(a_arr)
    cdef const float *pb = _fptr(b_arr)
    cdef float *pc = _wptr(c)
    cdef int code
    with nogil:
        code = dl_sgemm(ta, tb, m, n, ka, fa, pa, lda, pb, ldb, fb, pc, ldc)
    _check(code, "gemm")
    return c
