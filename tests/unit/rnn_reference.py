#!/usr/bin/python3
"""Expected values for tests/unit/test_ops_shape2.c: conv_transpose, resize, lstm and gru.

Run with Debian's python3 (numpy, torch): `/usr/bin/python3 tests/unit/rnn_reference.py`
prints the C arrays the test pastes. Nothing here reads lathe's code:
- lstm and gru: the ONNX LSTM / GRU equations written out in numpy (gate orders iofc and
  zrh), checked against torch.nn.LSTM / torch.nn.GRU (linear_before_reset = 1) where torch
  has the same computation;
- conv_transpose: torch.nn.functional.conv_transpose2d (ONNX's output_shape pads: the full
  result cropped);
- resize: torch.nn.functional.interpolate (bilinear / bicubic, A = -0.75) for the modes
  it shares with ONNX.
"""
import numpy as np
import torch


def carr(name, a):
    vals = ", ".join("%.9g" % v for v in np.asarray(a, dtype=np.float64).ravel())
    print("static const float %s[] = {%s};" % (name, vals))


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def onnx_lstm(X, W, R, B, lens, h0, c0, reverse_dir):
    """ONNX LSTM, one direction per entry of W (gates i, o, f, c); Y [T, D, Bt, H]."""
    X, W, R, B = (a.astype(np.float64) for a in (X, W, R, B))
    T, Bt, _ = X.shape
    D, G, _ = W.shape
    H = G // 4
    Y = np.zeros((T, D, Bt, H))
    Yh = np.zeros((D, Bt, H))
    Yc = np.zeros((D, Bt, H))
    for d in range(D):
        for b in range(Bt):
            h, c = h0[d, b].astype(np.float64), c0[d, b].astype(np.float64)
            steps = range(lens[b] - 1, -1, -1) if reverse_dir[d] else range(lens[b])
            for t in steps:
                g = W[d] @ X[t, b] + R[d] @ h + B[d, :G] + B[d, G:]
                i, o, f, cc = sigmoid(g[:H]), sigmoid(g[H:2 * H]), sigmoid(g[2 * H:3 * H]), np.tanh(g[3 * H:])
                c = f * c + i * cc
                h = o * np.tanh(c)
                Y[t, d, b] = h
            Yh[d, b], Yc[d, b] = h, c
    return Y, Yh, Yc


def onnx_gru(X, W, R, B, lens, h0, reverse_dir, lbr):
    """ONNX GRU (gates z, r, h); Y [T, D, Bt, H]."""
    X, W, R, B = (a.astype(np.float64) for a in (X, W, R, B))
    T, Bt, _ = X.shape
    D, G, _ = W.shape
    H = G // 3
    Y = np.zeros((T, D, Bt, H))
    Yh = np.zeros((D, Bt, H))
    for d in range(D):
        Wz, Wr, Wh = W[d, :H], W[d, H:2 * H], W[d, 2 * H:]
        Rz, Rr, Rh = R[d, :H], R[d, H:2 * H], R[d, 2 * H:]
        Wbz, Wbr, Wbh, Rbz, Rbr, Rbh = (B[d, k * H:(k + 1) * H] for k in range(6))
        for b in range(Bt):
            h = h0[d, b].astype(np.float64)
            steps = range(lens[b] - 1, -1, -1) if reverse_dir[d] else range(lens[b])
            for t in steps:
                x = X[t, b]
                z = sigmoid(Wz @ x + Rz @ h + Wbz + Rbz)
                r = sigmoid(Wr @ x + Rr @ h + Wbr + Rbr)
                if lbr:
                    hh = np.tanh(Wh @ x + r * (Rh @ h + Rbh) + Wbh)
                else:
                    hh = np.tanh(Wh @ x + Rh @ (r * h) + Rbh + Wbh)
                h = (1 - z) * hh + z * h
                Y[t, d, b] = h
            Yh[d, b] = h
    return Y, Yh


def rnn():
    rng = np.random.default_rng(7)
    T, Bt, I, H = 3, 2, 2, 2
    X = rng.uniform(-1, 1, (T, Bt, I)).astype(np.float32)
    lens = [3, 2]
    carr("rnn_x", X)
    # LSTM, bidirectional, with biases, initial states and sequence lengths [3, 2].
    W = rng.uniform(-1, 1, (2, 4 * H, I)).astype(np.float32)
    R = rng.uniform(-1, 1, (2, 4 * H, H)).astype(np.float32)
    B = rng.uniform(-0.5, 0.5, (2, 8 * H)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (2, Bt, H)).astype(np.float32)
    c0 = rng.uniform(-1, 1, (2, Bt, H)).astype(np.float32)
    for n, a in [("lstm_w", W), ("lstm_r", R), ("lstm_b", B), ("lstm_h0", h0), ("lstm_c0", c0)]:
        carr(n, a)
    Y, Yh, Yc = onnx_lstm(X, W, R, B, lens, h0, c0, [False, True])
    carr("lstm_y", Y)
    carr("lstm_yh", Yh)
    carr("lstm_yc", Yc)
    # torch agrees on the full-length batch entry 0 (torch's gate order is i, f, g, o).
    lstm = torch.nn.LSTM(I, H, bidirectional=True).double()
    perm = np.r_[0:H, 2 * H:3 * H, 3 * H:4 * H, H:2 * H]  # torch row k = ONNX row perm[k]
    with torch.no_grad():
        for d, sfx in enumerate(["", "_reverse"]):
            getattr(lstm, "weight_ih_l0" + sfx).copy_(torch.tensor(W[d][perm]))
            getattr(lstm, "weight_hh_l0" + sfx).copy_(torch.tensor(R[d][perm]))
            getattr(lstm, "bias_ih_l0" + sfx).copy_(torch.tensor(B[d, :4 * H][perm]))
            getattr(lstm, "bias_hh_l0" + sfx).copy_(torch.tensor(B[d, 4 * H:][perm]))
        ty, (th, tc) = lstm(torch.tensor(X[:, :1]).double(),
                            (torch.tensor(h0[:, :1]).double(), torch.tensor(c0[:, :1]).double()))
    assert np.allclose(ty.numpy().reshape(T, 1, 2, H).transpose(0, 2, 1, 3), Y[:, :, :1], atol=1e-9)
    assert np.allclose(th.numpy(), Yh[:, :1], atol=1e-9) and np.allclose(tc.numpy(), Yc[:, :1], atol=1e-9)
    # GRU, bidirectional, both forms of the reset gate.
    W = rng.uniform(-1, 1, (2, 3 * H, I)).astype(np.float32)
    R = rng.uniform(-1, 1, (2, 3 * H, H)).astype(np.float32)
    B = rng.uniform(-0.5, 0.5, (2, 6 * H)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (2, Bt, H)).astype(np.float32)
    for n, a in [("gru_w", W), ("gru_r", R), ("gru_b", B), ("gru_h0", h0)]:
        carr(n, a)
    for lbr in (0, 1):
        Y, Yh = onnx_gru(X, W, R, B, lens, h0, [False, True], lbr)
        carr("gru%d_y" % lbr, Y)
        carr("gru%d_yh" % lbr, Yh)
    gru = torch.nn.GRU(I, H, bidirectional=True).double()
    perm = np.r_[H:2 * H, 0:H, 2 * H:3 * H]  # torch r, z, n = ONNX rows r, z, h
    with torch.no_grad():
        for d, sfx in enumerate(["", "_reverse"]):
            getattr(gru, "weight_ih_l0" + sfx).copy_(torch.tensor(W[d][perm]))
            getattr(gru, "weight_hh_l0" + sfx).copy_(torch.tensor(R[d][perm]))
            getattr(gru, "bias_ih_l0" + sfx).copy_(torch.tensor(B[d, :3 * H][perm]))
            getattr(gru, "bias_hh_l0" + sfx).copy_(torch.tensor(B[d, 3 * H:][perm]))
        ty, th = gru(torch.tensor(X[:, :1]).double(), torch.tensor(h0[:, :1]).double())
    Y, Yh = onnx_gru(X, W, R, B, lens, h0, [False, True], 1)
    assert np.allclose(ty.numpy().reshape(T, 1, 2, H).transpose(0, 2, 1, 3), Y[:, :, :1], atol=1e-9)


def conv_transpose():
    x = (np.arange(18, dtype=np.float32).reshape(1, 2, 3, 3) - 8) / 4
    w = (np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2) - 7) / 8  # groups 2: [C=2, M/g=2, 2, 2]
    b = np.array([0.5, -1, 0.25, 2], dtype=np.float32)
    carr("ct_x", x)
    carr("ct_w", w)
    carr("ct_b", b)
    y = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2, padding=1,
                                             output_padding=1, groups=2)
    carr("ct_y_groups", y.numpy())  # [1, 4, 5, 5]
    # output_shape [4, 7] with strides [1, 3], dilations [2, 1]: the full result is
    # [1 * 2 + 3, 3 * 2 + 2] = [5, 8]; total padding [1, 1] puts pad 1 at the start (ONNX).
    w1 = w[:1]  # [1, 2, 2, 2]: one input channel, two outputs
    full = torch.nn.functional.conv_transpose2d(torch.tensor(x[:, :1]), torch.tensor(w1), stride=(1, 3),
                                                dilation=(2, 1)).numpy()
    carr("ct_y_shape", full[:, :, 1:5, 1:8])


def resize():
    x = np.array([[1, 2], [3, 4]], dtype=np.float32).reshape(1, 1, 2, 2)
    carr("rs_linear_half_pixel",
         torch.nn.functional.interpolate(torch.tensor(x), size=(4, 4), mode="bilinear", align_corners=False).numpy())
    x6 = np.array([[0, 1, 2], [4, 8, 16]], dtype=np.float32).reshape(1, 1, 2, 3)
    carr("rs_linear_align_corners",
         torch.nn.functional.interpolate(torch.tensor(x6), size=(3, 5), mode="bilinear", align_corners=True).numpy())
    x16 = (np.arange(16, dtype=np.float32) ** 2 / 10).reshape(1, 1, 4, 4)
    carr("rs_cubic_in", x16)
    carr("rs_cubic_half_pixel",
         torch.nn.functional.interpolate(torch.tensor(x16), size=(3, 6), mode="bicubic", align_corners=False).numpy())


if __name__ == "__main__":
    rnn()
    conv_transpose()
    resize()
