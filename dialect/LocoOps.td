//===- LocoOps.td - Ops of the loco dialect ----------------*- tablegen -*-===//
//
// The ops of the TF-Locoformer training step. Shapes are static; every op
// whose result shape follows from its operands and attributes infers it, and
// the inferred type is checked against the printed one by the verifier.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_OPS_TD
#define LOCO_OPS_TD

include "dialect/LocoDialect.td"
include "dialect/LocoInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints and base classes
//===----------------------------------------------------------------------===//

defvar Loco_FloatTypes = [F32, BF16, F16];
def Loco_Tensor : RankedTensorOf<Loco_FloatTypes>;
def Loco_Tensor1D : TensorRankOf<Loco_FloatTypes, [1]>;
def Loco_Tensor2D : TensorRankOf<Loco_FloatTypes, [2]>;
def Loco_Tensor3D : TensorRankOf<Loco_FloatTypes, [3]>;
def Loco_Tensor4D : TensorRankOf<Loco_FloatTypes, [4]>;
def Loco_Scalar : 0DTensorOf<[F32]>;
// Ops that compute in fp32 whatever the precision policy (spectral
// transforms, norm statistics, softmax, RoPE, losses): no reduced-precision
// kernels exist for them, and loco-autocast casts their operands up.
def Loco_F32Tensor : RankedTensorOf<[F32]>;
def Loco_F32Tensor1D : TensorRankOf<[F32], [1]>;
def Loco_F32Tensor2D : TensorRankOf<[F32], [2]>;
def Loco_F32Tensor4D : TensorRankOf<[F32], [4]>;

def Loco_PositiveI64 : ConfinedAttr<I64Attr, [IntPositive]>;
def Loco_NonNegativeI64 : ConfinedAttr<I64Attr, [IntNonNegative]>;

/// Every loco op reports its recompute cost and, unless it says otherwise,
/// the number of leading row-independent dimensions.
/// `rowOverrides` and `costOverrides` name the interface methods with
/// defaults that the op overrides (ops with weight operands override
/// `isBroadcastOperand`, views override `getBytesMoved`).
class Loco_Op<string mnemonic, list<Trait> traits = [],
              list<string> rowOverrides = [], list<string> costOverrides = []>
    : Op<Loco_Dialect, mnemonic, !listconcat(traits, [
          Pure,
          DeclareOpInterfaceMethods<Loco_RecomputeCostOpInterface,
                                    !listconcat(["getFlops"], costOverrides)>,
          DeclareOpInterfaceMethods<Loco_RowIndependentOpInterface,
                                    !listconcat(["getNumRowDims"], rowOverrides)>,
          DeclareOpInterfaceMethods<Loco_RuntimeCallOpInterface,
                                    ["getWorkspaceBytes", "allowsInPlace"]>,
          DeclareOpInterfaceMethods<Loco_GradientOpInterface>])>;

/// An op whose result type is inferred from its operands and attributes and
/// printed as a functional type.
class Loco_InferOp<string mnemonic, list<Trait> traits = [],
                   list<string> rowOverrides = []>
    : Loco_Op<mnemonic, !listconcat(traits, [InferTypeOpAdaptor]), rowOverrides> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

/// Element-wise ops: one result, shaped like every operand.
class Loco_ElementwiseOp<string mnemonic, list<Trait> traits = []>
    : Loco_Op<mnemonic, !listconcat(traits, [SameOperandsAndResultType, Elementwise])>;

class Loco_BinaryOp<string mnemonic, string symbol, list<Trait> traits = []>
    : Loco_ElementwiseOp<mnemonic, traits> {
  let summary = "element-wise " # symbol;
  let arguments = (ins Loco_Tensor:$lhs, Loco_Tensor:$rhs);
  let results = (outs Loco_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Spectral transforms
//===----------------------------------------------------------------------===//

def Loco_StftOp : Loco_InferOp<"stft"> {
  let summary = "centered short-time Fourier transform with a periodic Hann window";
  let description = [{
    `torch.stft(x, n_fft, hop_length, win_length = n_fft,
    window = hann_window(n_fft) (periodic), center = True, pad_mode = "reflect",
    onesided = True, normalized = False)` with real and imaginary parts stacked
    as two channels, time-major.

    Shapes: input `[B, N]`; result `[B, 2, T, F]` with `T = 1 + N / hop_length`
    (integer division) and `F = n_fft / 2 + 1`. Channel 0 is the real part,
    channel 1 the imaginary part. Requires `hop_length <= n_fft`, an even
    `n_fft` and `N > n_fft / 2` (reflection padding needs that many samples).

    Example:
    ```mlir
    %spec = loco.stft %x {hop_length = 64 : i64, n_fft = 256 : i64}
        : (tensor<2x4096xf32>) -> tensor<2x2x65x129xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor2D:$input, Loco_PositiveI64:$n_fft,
                       Loco_PositiveI64:$hop_length);
  let results = (outs Loco_F32Tensor4D:$result);
}

def Loco_IstftOp : Loco_InferOp<"istft"> {
  let summary = "inverse of `loco.stft`, trimmed to a given length";
  let description = [{
    `torch.istft(x, n_fft, hop_length, window = hann_window(n_fft),
    center = True, length = length)`: one-sided complex-to-real inverse of
    each frame (the imaginary parts of the DC and Nyquist bins are ignored),
    windowed overlap-add divided by the overlap-added squared window, the
    `n_fft / 2` samples of centering removed, trimmed to `length`.

    Shapes: input `[B, 2, T, F]` with `F = n_fft / 2 + 1`; result
    `[B, length]`, where `length <= (T - 1) * hop_length + n_fft / 2` (the
    overlap-added span less the centering pad).

    Example:
    ```mlir
    %y = loco.istft %spec {hop_length = 64 : i64, length = 4096 : i64, n_fft = 256 : i64}
        : (tensor<8x2x65x129xf32>) -> tensor<8x4096xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor4D:$input, Loco_PositiveI64:$n_fft,
                       Loco_PositiveI64:$hop_length, Loco_PositiveI64:$length);
  let results = (outs Loco_F32Tensor2D:$result);
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

def Loco_Conv2dOp : Loco_InferOp<"conv2d", [], ["isBroadcastOperand"]> {
  let summary = "2-D convolution, stride 1, zero padding, with bias";
  let description = [{
    `torch.nn.functional.conv2d(x, weight, bias, stride = 1, padding)`.

    Shapes: input `[B, Ci, H, W]`, weight `[Co, Ci, KH, KW]`, bias `[Co]`,
    `padding = [PH, PW]`; result `[B, Co, H + 2 PH - KH + 1, W + 2 PW - KW + 1]`.

    Example:
    ```mlir
    %y = loco.conv2d %x, %w, %b {padding = array<i64: 1, 1>}
        : (tensor<2x2x65x129xf32>, tensor<16x2x3x3xf32>, tensor<16xf32>)
        -> tensor<2x16x65x129xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor4D:$input, Loco_Tensor4D:$weight,
                       Loco_Tensor1D:$bias, DenseI64ArrayAttr:$padding);
  let results = (outs Loco_Tensor4D:$result);
}

def Loco_ConvTranspose2dOp : Loco_InferOp<"conv_transpose2d", [], ["isBroadcastOperand"]> {
  let summary = "2-D transposed convolution, stride 1, with bias";
  let description = [{
    `torch.nn.functional.conv_transpose2d(x, weight, bias, stride = 1, padding)`.

    Shapes: input `[B, Ci, H, W]`, weight `[Ci, Co, KH, KW]` (PyTorch's
    layout for transposed convolutions), bias `[Co]`, `padding = [PH, PW]`;
    result `[B, Co, H + KH - 1 - 2 PH, W + KW - 1 - 2 PW]`.

    Example:
    ```mlir
    %y = loco.conv_transpose2d %x, %w, %b {padding = array<i64: 1, 1>}
        : (tensor<2x16x65x129xf32>, tensor<16x8x3x3xf32>, tensor<8xf32>)
        -> tensor<2x8x65x129xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor4D:$input, Loco_Tensor4D:$weight,
                       Loco_Tensor1D:$bias, DenseI64ArrayAttr:$padding);
  let results = (outs Loco_Tensor4D:$result);
}

def Loco_Conv1dOp : Loco_InferOp<"conv1d", [], ["isBroadcastOperand"]> {
  let summary = "1-D convolution over rows in channels-last layout, with bias";
  let description = [{
    Each row of the input is a 1-D signal with channels last. The result is
    `torch.nn.functional.conv1d(x.transpose(1, 2), weight, bias, stride)
    .transpose(1, 2)`: the op does the transposes that PyTorch's NCL layout
    needs, so that the runtime computes it as K shifted GEMMs without copies.
    There is no padding; a `loco.pad` before the op supplies it.

    Shapes: input `[R, L, Ci]`, weight `[Co, Ci, K]` (PyTorch's layout), bias
    `[Co]`; result `[R, (L - K) / stride + 1, Co]`, `L >= K`.

    Example:
    ```mlir
    %y = loco.conv1d %x, %w, %b {stride = 1 : i64}
        : (tensor<130x135x16xf32>, tensor<64x16x4xf32>, tensor<64xf32>)
        -> tensor<130x132x64xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor3D:$input, Loco_Tensor3D:$weight,
                       Loco_Tensor1D:$bias, Loco_PositiveI64:$stride);
  let results = (outs Loco_Tensor3D:$result);
}

def Loco_ConvTranspose1dOp : Loco_InferOp<"conv_transpose1d", [], ["isBroadcastOperand"]> {
  let summary = "1-D transposed convolution over rows in channels-last layout, with bias";
  let description = [{
    `torch.nn.functional.conv_transpose1d(x.transpose(1, 2), weight, bias,
    stride).transpose(1, 2)`, no padding, no output padding.

    Shapes: input `[R, L, Ci]`, weight `[Ci, Co, K]` (PyTorch's layout), bias
    `[Co]`; result `[R, (L - 1) * stride + K, Co]`.

    Example:
    ```mlir
    %y = loco.conv_transpose1d %x, %w, %b {stride = 1 : i64}
        : (tensor<130x132x32xf32>, tensor<32x16x4xf32>, tensor<16xf32>)
        -> tensor<130x135x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor3D:$input, Loco_Tensor3D:$weight,
                       Loco_Tensor1D:$bias, Loco_PositiveI64:$stride);
  let results = (outs Loco_Tensor3D:$result);
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

def Loco_GroupNormOp : Loco_InferOp<"group_norm"> {
  let summary = "GroupNorm over channels and all trailing dims, affine";
  let description = [{
    `torch.nn.functional.group_norm(x, num_groups, gamma, beta, eps)`: for
    each sample and group of `C / num_groups` channels, the mean and biased
    variance over the group's channels and every trailing dimension;
    `y = (x - mean) / sqrt(var + eps) * gamma[c] + beta[c]`. With one group
    this is a reduction over the whole `C x T x F` spectrogram of a sample.

    Shapes: input `[B, C, ...]` (rank >= 2), gamma and beta `[C]`; result
    like the input. `C` must be divisible by `num_groups`.

    Example:
    ```mlir
    %y = loco.group_norm %x, %g, %b {eps = 1.0e-05 : f64, num_groups = 1 : i64}
        : (tensor<2x16x65x129xf32>, tensor<16xf32>, tensor<16xf32>)
        -> tensor<2x16x65x129xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$input, Loco_F32Tensor1D:$gamma,
                       Loco_F32Tensor1D:$beta, Loco_PositiveI64:$num_groups,
                       F64Attr:$eps);
  let results = (outs Loco_F32Tensor:$result);
}

def Loco_RmsGroupNormOp : Loco_InferOp<"rms_group_norm"> {
  let summary = "RMSGroupNorm over the last (channel) dim, scale only";
  let description = [{
    The Locoformer's RMSGroupNorm: the last dimension `C` is split into
    `num_groups` groups of `C / num_groups`; per group
    `rms = ||x_g||_2 / sqrt(C / num_groups)` and `y_g = x_g / (rms + eps)`
    (eps is added to the RMS, not under the root), then `y = y * gamma`.
    There is no bias. Rows (all leading dims) are independent.

    Shapes: input `[..., C]`, gamma `[C]`; result like the input.

    Example:
    ```mlir
    %y = loco.rms_group_norm %x, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64}
        : (tensor<130x129x16xf32>, tensor<16xf32>) -> tensor<130x129x16xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$input, Loco_F32Tensor1D:$gamma,
                       Loco_PositiveI64:$num_groups, F64Attr:$eps);
  let results = (outs Loco_F32Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Matrix products
//===----------------------------------------------------------------------===//

def Loco_LinearOp : Loco_InferOp<"linear", [], ["isBroadcastOperand"]> {
  let summary = "x @ weight^T over the last dim, no bias";
  let description = [{
    `torch.nn.functional.linear(x, weight)`: `y[..., n] = sum_k x[..., k] *
    weight[n, k]`.

    Shapes: input `[..., K]`, weight `[N, K]`; result `[..., N]`.

    Example:
    ```mlir
    %qkv = loco.linear %x, %w : (tensor<130x129x16xf32>, tensor<48x16xf32>)
        -> tensor<130x129x48xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, Loco_Tensor2D:$weight);
  let results = (outs Loco_Tensor:$result);
}

def Loco_BatchMatmulOp : Loco_InferOp<"batch_matmul"> {
  let summary = "batched matrix product over the two trailing dims";
  let description = [{
    `torch.matmul(lhs, rhs)` for operands of equal rank >= 3 and equal batch
    dims; `transpose_lhs` and `transpose_rhs` use the transpose of the
    trailing two dims of an operand instead (the backward pass needs both).

    Shapes: lhs `[..., M, K]` (or `[..., K, M]` with `transpose_lhs`), rhs
    `[..., K, N]` (or `[..., N, K]` with `transpose_rhs`); result
    `[..., M, N]`.

    Example:
    ```mlir
    %s = loco.batch_matmul %q, %k {transpose_rhs}
        : (tensor<130x2x129x8xf32>, tensor<130x2x129x8xf32>) -> tensor<130x2x129x129xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$lhs, Loco_Tensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Loco_Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Attention pieces
//===----------------------------------------------------------------------===//

def Loco_RopeOp : Loco_InferOp<"rope"> {
  let summary = "rotary position embedding, interleaved pairs, full head dim";
  let description = [{
    rotary-embedding-torch 0.6.1 as the Locoformer uses it. For an input
    `[..., L, d]` (sequence axis second to last, head dim last, d even),
    position `p` in `[0, L)` and `i < d / 2`: `inv_freq_i = 1 / theta^(2i/d)`,
    `a = p * inv_freq_i`, and the interleaved pair `(2i, 2i+1)` rotates:
    `y[2i] = x[2i] cos a - x[2i+1] sin a`,
    `y[2i+1] = x[2i+1] cos a + x[2i] sin a`. With `inverse` the rotation is
    by `-a` (the transpose, used by the backward pass).

    Shapes: result like the input.

    Example:
    ```mlir
    %q2 = loco.rope %q {theta = 1.0e+04 : f64}
        : (tensor<130x2x129x8xf32>) -> tensor<130x2x129x8xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$input, F64Attr:$theta, UnitAttr:$inverse);
  let results = (outs Loco_F32Tensor:$result);
}

def Loco_SoftmaxOp : Loco_InferOp<"softmax"> {
  let summary = "softmax along one dimension";
  let description = [{
    `torch.softmax(x, dim)`, computed with the maximum subtracted.

    Shapes: result like the input; `0 <= dim < rank`.

    Example:
    ```mlir
    %p = loco.softmax %s {dim = 3 : i64}
        : (tensor<130x2x129x129xf32>) -> tensor<130x2x129x129xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$input, Loco_NonNegativeI64:$dim);
  let results = (outs Loco_F32Tensor:$result);
}

def Loco_DropoutOp : Loco_InferOp<"dropout"> {
  let summary = "inverted dropout driven by a counter-based random stream";
  let description = [{
    In training, element `i` is kept when `u(seed, step, stream, i) >= p`,
    where `u` is the uniform in [0, 1) of the Philox stream named by the `rng`
    attribute, and kept elements are scaled by `1 / (1 - p)`. In evaluation,
    and when `p = 0`, the op is the identity. Because `u` is a pure function of
    its key, a recomputation reproduces the same mask.

    Shapes: result like the input; `0 <= p < 1`.

    Example:
    ```mlir
    %y = loco.dropout %x {p = 1.0e-01 : f64, rng = #loco.rng<stream = 3>}
        : (tensor<130x129x16xf32>) -> tensor<130x129x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, F64Attr:$p, Loco_RngKeyAttr:$rng);
  let results = (outs Loco_Tensor:$result);
}

def Loco_DropoutAddOp : Loco_InferOp<"dropout_add"> {
  let summary = "a residual plus the inverted dropout of an input";
  let description = [{
    `residual + dropout(input)`, with the mask `loco.dropout` draws from the
    same `rng` key over the input's element indices (the identity dropout in
    evaluation and at `p = 0`). `loco-fuse-elementwise` makes it from a
    `loco.add` of a `loco.dropout`, so that the dropped-out tensor is never
    stored and the backward is one `loco.dropout` of the cotangent.

    The result has the residual's type. The input has it too, or is bf16 or
    f16 under an f32 residual (the residual stream under loco-autocast):
    then the dropout rounds to the input's type and the sum widens it, as
    the unfused dropout, `loco.cast` and add would.

    Example:
    ```mlir
    %y = loco.dropout_add %r, %x {p = 1.0e-01 : f64, rng = #loco.rng<stream = 3>}
        : (tensor<130x129x16xf32>, tensor<130x129x16xbf16>) -> tensor<130x129x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$residual, Loco_Tensor:$input, F64Attr:$p,
                       Loco_RngKeyAttr:$rng);
  let results = (outs Loco_Tensor:$result);
}

def Loco_FlashAttentionOp : Loco_InferOp<"flash_attention"> {
  let summary = "fused softmax(scale q k^T) v without the L x L scores";
  let description = [{
    `out = dropout(softmax(scale * q k^T, dim = -1)) v` per batch entry (all
    leading dims), computed tile by tile over the keys with an online
    softmax so that no `Lq x Lk` matrix is ever stored. Also returns the
    per-row log-sum-exp `lse = log sum_j exp(scale * q_i . k_j)`, from which
    the backward recomputes the probabilities. Dropout (probability
    `dropout`, drawn from `rng` with the element index of the `[..., Lq, Lk]`
    probability tensor, exactly as a separate `loco.dropout` on it would)
    applies to the normalised probabilities.

    `loco-fuse-attention` creates it from the unfused composition.

    Shapes: q `[..., Lq, d]`, k `[..., Lk, d]`, v `[..., Lk, dv]` with equal
    leading dims; results `[..., Lq, dv]` and `[..., Lq]`.

    Example:
    ```mlir
    %o, %lse = loco.flash_attention %q, %k, %v {dropout = 0.0 : f64, scale = 0.35355339059327373 : f64}
        : (tensor<130x2x129x8xf32>, tensor<130x2x129x8xf32>, tensor<130x2x129x8xf32>)
        -> (tensor<130x2x129x8xf32>, tensor<130x2x129xf32>)
    ```
  }];
  let arguments = (ins Loco_Tensor:$query, Loco_Tensor:$key, Loco_Tensor:$value,
                       F64Attr:$scale, F64Attr:$dropout,
                       OptionalAttr<Loco_RngKeyAttr>:$rng);
  let results = (outs Loco_Tensor:$result, Loco_F32Tensor:$lse);
}

//===----------------------------------------------------------------------===//
// Element-wise arithmetic
//===----------------------------------------------------------------------===//

def Loco_AddOp : Loco_BinaryOp<"add", "addition", [Commutative]> {
  let description = [{
    `lhs + rhs` on operands of one type (the residual adds of the blocks, the
    sum of the loss terms).

    Example: `%y = loco.add %a, %b : tensor<130x129x16xf32>`
  }];
}

def Loco_SubOp : Loco_BinaryOp<"sub", "subtraction"> {
  let description = [{
    `lhs - rhs` on operands of one type.

    Example: `%y = loco.sub %a, %b : tensor<4xf32>`
  }];
}

def Loco_MulOp : Loco_BinaryOp<"mul", "multiplication", [Commutative]> {
  let description = [{
    `lhs * rhs` on operands of one type (the SwiGLU gate).

    Example: `%y = loco.mul %a, %b : tensor<130x132x32xf32>`
  }];
}

def Loco_DivOp : Loco_BinaryOp<"div", "division"> {
  let description = [{
    `lhs / rhs` on operands of one type.

    Example: `%y = loco.div %a, %b : tensor<4xf32>`
  }];
}

def Loco_SiluOp : Loco_ElementwiseOp<"silu"> {
  let summary = "element-wise SiLU, x * sigmoid(x)";
  let description = [{
    `torch.nn.functional.silu(x) = x / (1 + exp(-x))`.

    Example: `%y = loco.silu %x : tensor<130x132x32xf32>`
  }];
  let arguments = (ins Loco_Tensor:$input);
  let results = (outs Loco_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Loco_SwigluOp : Loco_InferOp<"swiglu"> {
  let summary = "SwiGLU gate: the value half times the SiLU of the gate half";
  let description = [{
    `x[..., :H] * silu(x[..., H:])` for an input whose last dim is `2H`:
    the value half first, the gate half second, as upstream's
    `swiglu_conv1d` splits its convolution's output. `loco-fuse-elementwise`
    makes it from the two slices, the SiLU and the product, so that neither
    half is copied out and the backward (`loco.swiglu_backward`) writes the
    input's cotangent in one pass. It rounds as those ops do: the SiLU is
    rounded to the storage type before the product.

    Example:
    ```mlir
    %u = loco.swiglu %h : (tensor<6x9x16xf32>) -> tensor<6x9x8xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input);
  let results = (outs Loco_Tensor:$result);
}

def Loco_ScaleOp : Loco_ElementwiseOp<"scale"> {
  let summary = "multiplication by a compile-time constant";
  let description = [{
    `x * factor` (loss weights, the attention scale `1 / sqrt(d)`, negation).

    Example: `%y = loco.scale %x {factor = -1.0 : f64} : tensor<f32>`
  }];
  let arguments = (ins Loco_Tensor:$input, F64Attr:$factor);
  let results = (outs Loco_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Loco_CastOp : Loco_Op<"cast", [SameOperandsAndResultShape, Elementwise]> {
  let summary = "element type conversion";
  let description = [{
    `x.to(dtype)` between `f32`, `bf16` and `f16`: a narrowing cast rounds to
    nearest even (as torch does), a widening one is exact. `loco-autocast`
    inserts these where the precision policy changes an op's element type;
    autodiff and rematerialisation see them like any other op. The gradient
    is the cast back, and the cotangents of a widening-source cast are summed
    in the wider type (see `loco-autodiff`).

    Example: `%h = loco.cast %x : tensor<130x129x16xf32> to tensor<130x129x16xbf16>`
  }];
  let arguments = (ins Loco_Tensor:$input);
  let results = (outs Loco_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Loco_ReshapeOp : Loco_Op<"reshape", [], [], ["getBytesMoved"]> {
  let summary = "row-major reshape (a view)";
  let description = [{
    `torch.reshape`: the same elements in the same row-major order under a new
    static shape. The element counts must be equal and the element types the
    same. Costs nothing at run time.

    Example:
    ```mlir
    %y = loco.reshape %x : tensor<2x65x129x16xf32> -> tensor<130x129x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input);
  let results = (outs Loco_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Loco_TransposeOp : Loco_InferOp<"transpose"> {
  let summary = "permutation of dimensions";
  let description = [{
    `x.permute(permutation)`: result dim `i` is input dim `permutation[i]`.
    `permutation` must be a permutation of `[0, rank)`.

    Example:
    ```mlir
    %y = loco.transpose %x {permutation = array<i64: 0, 2, 3, 1>}
        : (tensor<2x16x65x129xf32>) -> tensor<2x65x129x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Loco_Tensor:$result);
}

def Loco_SliceOp : Loco_InferOp<"slice"> {
  let summary = "contiguous range along one dimension";
  let description = [{
    `x.narrow(dim, start, size)`: indices `[start, start + size)` of dimension
    `dim`, every other dimension whole.

    Example:
    ```mlir
    %a = loco.slice %x {dim = 2 : i64, size = 32 : i64, start = 0 : i64}
        : (tensor<130x132x64xf32>) -> tensor<130x132x32xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, Loco_NonNegativeI64:$dim,
                       Loco_NonNegativeI64:$start, Loco_PositiveI64:$size);
  let results = (outs Loco_Tensor:$result);
}

def Loco_SplitOp : Loco_InferOp<"split"> {
  let summary = "consecutive pieces of the leading dimension";
  let description = [{
    `torch.split(x, sizes, dim = 0)`: result `i` holds rows
    `[sizes[0] + ... + sizes[i-1], ... + sizes[i])` of the input, every
    other dimension whole. `loco-chunk-rows` splits a row region's inputs
    into chunks with it; its gradient is `loco.concat`.

    Shapes: `sizes` positive, summing to the input's dim 0.

    Example:
    ```mlir
    %a, %b = loco.split %x {sizes = array<i64: 64, 66>}
        : (tensor<130x129x16xf32>) -> (tensor<64x129x16xf32>, tensor<66x129x16xf32>)
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Loco_Tensor>:$results);
}

def Loco_ConcatOp : Loco_InferOp<"concat"> {
  let summary = "pieces stacked along the leading dimension";
  let description = [{
    `torch.cat(xs, dim = 0)`: the inverse of `loco.split`. Its gradient is
    `loco.split` with the pieces' sizes.

    Shapes: at least one operand; all operands agree in every dimension but
    dim 0, which adds up.

    Example:
    ```mlir
    %x = loco.concat %a, %b
        : (tensor<64x129x16xf32>, tensor<66x129x16xf32>) -> tensor<130x129x16xf32>
    ```
  }];
  let arguments = (ins Variadic<Loco_Tensor>:$inputs);
  let results = (outs Loco_Tensor:$result);
}

def Loco_PadOp : Loco_InferOp<"pad"> {
  let summary = "zero padding at both ends of each dimension";
  let description = [{
    `torch.nn.functional.pad(x, ..., value = 0)`: dimension `i` gets `low[i]`
    zeros before and `high[i]` zeros after its elements.

    Shapes: `low` and `high` have one non-negative entry per dimension; result
    dim `i` is `input dim i + low[i] + high[i]`.

    Example:
    ```mlir
    %y = loco.pad %x {high = array<i64: 0, 3, 0>, low = array<i64: 0, 3, 0>}
        : (tensor<130x129x16xf32>) -> tensor<130x135x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, DenseI64ArrayAttr:$low,
                       DenseI64ArrayAttr:$high);
  let results = (outs Loco_Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Loco_ReduceOp<string mnemonic, string what> : Loco_InferOp<mnemonic> {
  let summary = what # " over a set of dimensions";
  let arguments = (ins Loco_Tensor:$input, DenseI64ArrayAttr:$dims,
                       UnitAttr:$keepdim);
  let results = (outs Loco_Tensor:$result);
}

def Loco_ReduceSumOp : Loco_ReduceOp<"reduce_sum", "sum"> {
  let description = [{
    `x.sum(dims, keepdim)`: `dims` are distinct, sorted and in range; reduced
    dims are dropped from the result unless `keepdim`, when they become 1.

    Example:
    ```mlir
    %s = loco.reduce_sum %x {dims = array<i64: 1>} : (tensor<2x4096xf32>) -> tensor<2xf32>
    ```
  }];
}

def Loco_ReduceMeanOp : Loco_ReduceOp<"reduce_mean", "mean"> {
  let description = [{
    `x.mean(dims, keepdim)`, with the shape rules of `loco.reduce_sum`.

    Example:
    ```mlir
    %m = loco.reduce_mean %x {dims = array<i64: 0>} : (tensor<2xf32>) -> tensor<f32>
    ```
  }];
}

include "dialect/LocoLossOps.td"
include "dialect/LocoGradOps.td"

#endif // LOCO_OPS_TD
