# Recurrent cell bindings: the pointwise half of an LSTM / GRU step (included by _c.pyx).

cdef _cell_arrays(op, arrays):
    """The arrays of a cell kernel call, checked by `contract` and then as C needs them:
    float32, C-contiguous (inputs copied if not), written arrays writeable; outputs given as
    None allocated. Returns the arrays and (n, h)."""
    n, h = contract.recurrent_cell(op, *arrays)
    spec = contract.RECURRENT_CELLS[op][1]
    if arrays[0].dtype != np.float32:  # the contract made every array of this dtype
        raise TypeError(f"{spec[0][0]} must be float32 for the C backend, got "
                        f"{arrays[0].dtype} (shape {arrays[0].shape}); use the 'numpy' "
                        f"backend for other dtypes")
    out = []
    for (name, width, role), a in zip(spec, arrays):
        if role == "r":
            out.append(_f32(name, a, 2))
        elif a is None:
            out.append(np.empty((n, width * h), np.float32))
        else:
            out.append(_out_f32(name, a, a.shape))
    return out, n, h


def lstm_cell_forward(gates, c_prev, c=None, h=None):
    (gates, c_prev, c, h), n, hidden = _cell_arrays("lstm_cell_forward", (gates, c_prev, c, h))
    cdef int64_t rows = n, width = hidden
    cdef float *pg = _wptr(gates)
    cdef const float *pcp = _fptr(c_prev)
    cdef float *pc = _wptr(c)
    cdef float *ph = _wptr(h)
    cdef int code
    with nogil:
        code = dl_lstm_cell_forward(rows, width, pg, pcp, pc, ph)
    _check(code, "lstm_cell_forward")
    return h, c


def lstm_cell_backward(gates, c_prev, c, dh, dc, dgates=None):
    (gates, c_prev, c, dh, dc, dgates), n, hidden = _cell_arrays(
        "lstm_cell_backward", (gates, c_prev, c, dh, dc, dgates))
    cdef int64_t rows = n, width = hidden
    cdef const float *pg = _fptr(gates)
    cdef const float *pcp = _fptr(c_prev)
    cdef const float *pc = _fptr(c)
    cdef const float *pdh = _fptr(dh)
    cdef float *pdc = _wptr(dc)
    cdef float *pdg = _wptr(dgates)
    cdef int code
    with nogil:
        code = dl_lstm_cell_backward(rows, width, pg, pcp, pc, pdh, pdc, pdg)
    _check(code, "lstm_cell_backward")
    return dgates, dc


def gru_cell_forward(gx, gh, h_prev, gates=None, h=None):
    (gx, gh, h_prev, gates, h), n, hidden = _cell_arrays("gru_cell_forward",
                                                         (gx, gh, h_prev, gates, h))
    cdef int64_t rows = n, width = hidden
    cdef const float *px = _fptr(gx)
    cdef const float *pgh = _fptr(gh)
    cdef const float *php = _fptr(h_prev)
    cdef float *pg = _wptr(gates)
    cdef float *ph = _wptr(h)
    cdef int code
    with nogil:
        code = dl_gru_cell_forward(rows, width, px, pgh, php, pg, ph)
    _check(code, "gru_cell_forward")
    return gates, h


def gru_cell_backward(gates, gh, h_prev, dh, dgx=None, dgh=None, dh_prev=None):
    (gates, gh, h_prev, dh, dgx, dgh, dh_prev), n, hidden = _cell_arrays(
        "gru_cell_backward", (gates, gh, h_prev, dh, dgx, dgh, dh_prev))
    cdef int64_t rows = n, width = hidden
    cdef const float *pg = _fptr(gates)
    cdef const float *pgh = _fptr(gh)
    cdef const float *php = _fptr(h_prev)
    cdef const float *pdh = _fptr(dh)
    cdef float *pdx = _wptr(dgx)
    cdef float *pdgh = _wptr(dgh)
    cdef float *pdhp = _wptr(dh_prev)
    cdef int code
    with nogil:
        code = dl_gru_cell_backward(rows, width, pg, pgh, php, pdh, pdx, pdgh, pdhp)
    _check(code, "gru_cell_backward")
    return dgx, dgh, dh_prev
