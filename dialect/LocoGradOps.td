//===- LocoGradOps.td - Backward ops of loco ---------------*- tablegen -*-===//
//
// The ops that gradient rules emit where the vector-Jacobian product is not
// itself a forward op: adjoints of the spectral transforms, weight gradients
// of the convolutions and linear layers, norm and loss backward kernels, and
// two helpers (broadcast, fill). Result types are explicit; each op verifies
// them against its operands.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_GRAD_OPS_TD
#define LOCO_GRAD_OPS_TD

/// A backward op: pure, with a runtime kernel; the default (conservative)
/// recompute cost and row independence.
class Loco_BackwardOp<string mnemonic, list<Trait> traits = []>
    : Op<Loco_Dialect, mnemonic, !listconcat(traits, [
          Pure,
          DeclareOpInterfaceMethods<Loco_RecomputeCostOpInterface, ["getFlops"]>,
          Loco_RowIndependentOpInterface,
          DeclareOpInterfaceMethods<Loco_RuntimeCallOpInterface,
                                    ["getWorkspaceBytes", "allowsInPlace"]>])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Loco_StftBackwardOp : Loco_BackwardOp<"stft_backward"> {
  let summary = "adjoint of loco.stft with respect to the signal";
  let description = [{
    Given the cotangent `[B, 2, T, F]` of a `loco.stft` result, the cotangent
    `[B, length]` of its input signal: the transposed real DFT of each frame,
    windowed, overlap-added, and the reflection padding folded back.

    Example:
    ```mlir
    %g = loco.stft_backward %gs {hop_length = 1024 : i64, length = 4096 : i64, n_fft = 2048 : i64}
        : (tensor<2x2x5x1025xf32>) -> tensor<2x4096xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor4D:$grad, Loco_PositiveI64:$n_fft,
                       Loco_PositiveI64:$hop_length, Loco_PositiveI64:$length);
  let results = (outs Loco_F32Tensor2D:$result);
}

def Loco_IstftBackwardOp : Loco_BackwardOp<"istft_backward"> {
  let summary = "adjoint of loco.istft with respect to the spectrum";
  let description = [{
    Given the cotangent `[B, length]` of a `loco.istft` result, the cotangent
    `[B, 2, T, F]` of its spectrum. The imaginary parts of the DC and
    Nyquist bins get exactly zero.

    Example:
    ```mlir
    %g = loco.istft_backward %gy {hop_length = 64 : i64, n_fft = 256 : i64}
        : (tensor<8x4096xf32>) -> tensor<8x2x65x129xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor2D:$grad, Loco_PositiveI64:$n_fft,
                       Loco_PositiveI64:$hop_length);
  let results = (outs Loco_F32Tensor4D:$result);
}

def Loco_Conv2dWeightGradOp : Loco_BackwardOp<"conv2d_weight_grad"> {
  let summary = "weight gradient of loco.conv2d";
  let description = [{
    `dW[co, ci, kh, kw] = sum over n, oh, ow of
    grad[n, co, oh, ow] * input[n, ci, oh + kh - PH, ow + kw - PW]`.

    Shapes: input `[B, Ci, H, W]`, grad `[B, Co, Ho, Wo]`; result
    `[Co, Ci, KH, KW]`.

    Example:
    ```mlir
    %dw = loco.conv2d_weight_grad %x, %g {padding = array<i64: 1, 1>}
        : (tensor<2x2x65x129xf32>, tensor<2x16x65x129xf32>) -> tensor<16x2x3x3xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor4D:$input, Loco_Tensor4D:$grad,
                       DenseI64ArrayAttr:$padding);
  let results = (outs Loco_Tensor4D:$result);
}

def Loco_ConvTranspose2dWeightGradOp
    : Loco_BackwardOp<"conv_transpose2d_weight_grad"> {
  let summary = "weight gradient of loco.conv_transpose2d";
  let description = [{
    `dW[ci, co, kh, kw] = sum over n, ih, iw of
    input[n, ci, ih, iw] * grad[n, co, ih + kh - PH, iw + kw - PW]`.

    Shapes: input `[B, Ci, H, W]`, grad `[B, Co, Ho, Wo]`; result
    `[Ci, Co, KH, KW]`.

    Example:
    ```mlir
    %dw = loco.conv_transpose2d_weight_grad %x, %g {padding = array<i64: 1, 1>}
        : (tensor<2x16x65x129xf32>, tensor<2x8x65x129xf32>) -> tensor<16x8x3x3xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor4D:$input, Loco_Tensor4D:$grad,
                       DenseI64ArrayAttr:$padding);
  let results = (outs Loco_Tensor4D:$result);
}

def Loco_Conv1dWeightGradOp : Loco_BackwardOp<"conv1d_weight_grad"> {
  let summary = "weight gradient of loco.conv1d (stride 1)";
  let description = [{
    `dW[co, ci, k] = sum over r, l of grad[r, l, co] * input[r, l + k, ci]`,
    computed as K GEMMs over all rows.

    Shapes: input `[R, L, Ci]`, grad `[R, L - K + 1, Co]`; result
    `[Co, Ci, K]`.

    Example:
    ```mlir
    %dw = loco.conv1d_weight_grad %x, %g
        : (tensor<130x135x16xf32>, tensor<130x132x64xf32>) -> tensor<64x16x4xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor3D:$input, Loco_Tensor3D:$grad);
  let results = (outs Loco_Tensor3D:$result);
}

def Loco_ConvTranspose1dWeightGradOp
    : Loco_BackwardOp<"conv_transpose1d_weight_grad"> {
  let summary = "weight gradient of loco.conv_transpose1d (stride 1)";
  let description = [{
    `dW[ci, co, k] = sum over r, l of input[r, l, ci] * grad[r, l + k, co]`.

    Shapes: input `[R, L, Ci]`, grad `[R, L + K - 1, Co]`; result
    `[Ci, Co, K]`.

    Example:
    ```mlir
    %dw = loco.conv_transpose1d_weight_grad %x, %g
        : (tensor<130x132x32xf32>, tensor<130x135x16xf32>) -> tensor<32x16x4xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor3D:$input, Loco_Tensor3D:$grad);
  let results = (outs Loco_Tensor3D:$result);
}

def Loco_LinearWeightGradOp : Loco_BackwardOp<"linear_weight_grad"> {
  let summary = "weight gradient of loco.linear";
  let description = [{
    `dW = grad^T input` over all leading dims: `dW[n, k] = sum over rows of
    grad[..., n] * input[..., k]`.

    Shapes: input `[..., K]`, grad `[..., N]`; result `[N, K]`.

    Example:
    ```mlir
    %dw = loco.linear_weight_grad %x, %g
        : (tensor<130x129x16xf32>, tensor<130x129x48xf32>) -> tensor<48x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, Loco_Tensor:$grad);
  let results = (outs Loco_Tensor2D:$result);
}

def Loco_GroupNormBackwardOp : Loco_BackwardOp<"group_norm_backward"> {
  let summary = "backward of loco.group_norm";
  let description = [{
    The cotangents of the input, gamma and beta of a `loco.group_norm` with
    the same attributes, recomputing the group statistics from the input.

    Example:
    ```mlir
    %dx, %dg, %db = loco.group_norm_backward %x, %g, %gy {eps = 1.0e-05 : f64, num_groups = 1 : i64}
        : (tensor<2x16x65x129xf32>, tensor<16xf32>, tensor<2x16x65x129xf32>)
        -> (tensor<2x16x65x129xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$input, Loco_F32Tensor1D:$gamma,
                       Loco_F32Tensor:$grad, Loco_PositiveI64:$num_groups,
                       F64Attr:$eps);
  let results = (outs Loco_F32Tensor:$input_grad, Loco_F32Tensor1D:$gamma_grad,
                      Loco_F32Tensor1D:$beta_grad);
}

def Loco_RmsGroupNormBackwardOp : Loco_BackwardOp<"rms_group_norm_backward"> {
  let summary = "backward of loco.rms_group_norm";
  let description = [{
    The cotangents of the input and gamma of a `loco.rms_group_norm` with the
    same attributes, recomputing each group's RMS from the input.

    Example:
    ```mlir
    %dx, %dg = loco.rms_group_norm_backward %x, %g, %gy {eps = 1.0e-05 : f64, num_groups = 2 : i64}
        : (tensor<130x129x16xf32>, tensor<16xf32>, tensor<130x129x16xf32>)
        -> (tensor<130x129x16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$input, Loco_F32Tensor1D:$gamma,
                       Loco_F32Tensor:$grad, Loco_PositiveI64:$num_groups,
                       F64Attr:$eps);
  let results = (outs Loco_F32Tensor:$input_grad, Loco_F32Tensor1D:$gamma_grad);
}

def Loco_SoftmaxBackwardOp : Loco_BackwardOp<"softmax_backward"> {
  let summary = "backward of loco.softmax from its result";
  let description = [{
    `dx = y * (g - sum(g * y, dim))` where `y` is the softmax result.

    Example:
    ```mlir
    %dx = loco.softmax_backward %y, %g {dim = 3 : i64}
        : (tensor<4x2x9x9xf32>, tensor<4x2x9x9xf32>) -> tensor<4x2x9x9xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$result_value, Loco_F32Tensor:$grad,
                       Loco_NonNegativeI64:$dim);
  let results = (outs Loco_F32Tensor:$result);
}

def Loco_SiluBackwardOp : Loco_BackwardOp<"silu_backward"> {
  let summary = "backward of loco.silu";
  let description = [{
    `dx = g * s * (1 + x * (1 - s))` with `s = sigmoid(x)`.

    Example:
    ```mlir
    %dx = loco.silu_backward %x, %g : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, Loco_Tensor:$grad);
  let results = (outs Loco_Tensor:$result);
}

def Loco_SwigluBackwardOp : Loco_BackwardOp<"swiglu_backward"> {
  let summary = "backward of loco.swiglu";
  let description = [{
    With `a = x[..., :H]`, `b = x[..., H:]`, `s = silu(b)` and the result's
    cotangent `g`: `dx[..., :H] = g * s` and
    `dx[..., H:] = silu_backward(b, g * a)`, computed and rounded as the
    unfused products, `loco.silu_backward` and the pads would.

    Example:
    ```mlir
    %dx = loco.swiglu_backward %x, %g
        : (tensor<6x9x16xf32>, tensor<6x9x8xf32>) -> tensor<6x9x16xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, Loco_Tensor:$grad);
  let results = (outs Loco_Tensor:$result);
}

def Loco_BroadcastOp : Loco_BackwardOp<"broadcast"> {
  let summary = "repeat a reduced tensor along the reduced dims";
  let description = [{
    The adjoint of a sum over `dims`: the result (of the unreduced shape)
    holds, at every index, the input element at that index with the `dims`
    coordinates dropped (or set to 0 when the input kept them as 1).

    Example:
    ```mlir
    %y = loco.broadcast %x {dims = array<i64: 0>} : (tensor<f32>) -> tensor<2xf32>
    ```
  }];
  let arguments = (ins Loco_Tensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs Loco_Tensor:$result);
}

def Loco_SiSdrBackwardOp : Loco_BackwardOp<"si_sdr_backward"> {
  let summary = "gradient of loco.si_sdr with respect to the estimate";
  let description = [{
    Given the cotangent `[B]` of the per-item SI-SDR, the cotangent `[B, N]`
    of the estimate (the target is data and gets none).

    Example:
    ```mlir
    %de = loco.si_sdr_backward %e, %t, %g {eps = 1.0e-08 : f64}
        : (tensor<2x4096xf32>, tensor<2x4096xf32>, tensor<2xf32>) -> tensor<2x4096xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor2D:$estimate, Loco_F32Tensor2D:$target,
                       Loco_F32Tensor1D:$grad, F64Attr:$eps);
  let results = (outs Loco_F32Tensor2D:$result);
}

def Loco_L1LossBackwardOp : Loco_BackwardOp<"l1_loss_backward"> {
  let summary = "gradient of loco.l1_loss with respect to the estimate";
  let description = [{
    `de = g * sign(e - t) / n` (sign(0) = 0, as torch).

    Example:
    ```mlir
    %de = loco.l1_loss_backward %e, %t, %g
        : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$estimate, Loco_F32Tensor:$target,
                       Loco_Scalar:$grad);
  let results = (outs Loco_F32Tensor:$result);
}

def Loco_MseLossBackwardOp : Loco_BackwardOp<"mse_loss_backward"> {
  let summary = "gradient of loco.mse_loss with respect to the estimate";
  let description = [{
    `de = g * 2 (e - t) / n`.

    Example:
    ```mlir
    %de = loco.mse_loss_backward %e, %t, %g
        : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$estimate, Loco_F32Tensor:$target,
                       Loco_Scalar:$grad);
  let results = (outs Loco_F32Tensor:$result);
}

def Loco_SpectralL1BackwardOp : Loco_BackwardOp<"spectral_l1_backward"> {
  let summary = "gradient of loco.spectral_l1 with respect to the estimate";
  let description = [{
    The cotangent of the estimate's spectrum; zero at bins of zero
    magnitude (the gradient of |X| at 0 is taken as 0, as upstream).

    Example:
    ```mlir
    %dE = loco.spectral_l1_backward %E, %T, %g
        : (tensor<2x2x5x1025xf32>, tensor<2x2x5x1025xf32>, tensor<f32>) -> tensor<2x2x5x1025xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor4D:$estimate, Loco_F32Tensor4D:$target,
                       Loco_Scalar:$grad);
  let results = (outs Loco_F32Tensor4D:$result);
}

def Loco_FlashAttentionGradOp : Loco_BackwardOp<"flash_attention_grad"> {
  let summary = "backward of loco.flash_attention (FlashAttention-2 style)";
  let description = [{
    The cotangents of q, k and v of a `loco.flash_attention` with the same
    attributes, given its output, its log-sum-exp and the output's
    cotangent. The probabilities are recomputed tile by tile from `lse`
    (and the dropout mask from its key), never stored whole.

    Example:
    ```mlir
    %dq, %dk, %dv = loco.flash_attention_grad %q, %k, %v, %o, %lse, %do {dropout = 0.0 : f64, scale = 0.5 : f64}
        : (tensor<2x4x9x4xf32>, tensor<2x4x9x4xf32>, tensor<2x4x9x4xf32>,
           tensor<2x4x9x4xf32>, tensor<2x4x9xf32>, tensor<2x4x9x4xf32>)
        -> (tensor<2x4x9x4xf32>, tensor<2x4x9x4xf32>, tensor<2x4x9x4xf32>)
    ```
  }];
  let arguments = (ins Loco_Tensor:$query, Loco_Tensor:$key, Loco_Tensor:$value,
                       Loco_Tensor:$result_value, Loco_F32Tensor:$lse,
                       Loco_Tensor:$grad, F64Attr:$scale, F64Attr:$dropout,
                       OptionalAttr<Loco_RngKeyAttr>:$rng);
  let results = (outs Loco_Tensor:$query_grad, Loco_Tensor:$key_grad,
                      Loco_Tensor:$value_grad);
}

def Loco_FillOp : Loco_BackwardOp<"fill"> {
  let summary = "a tensor with every element equal to a constant";
  let description = [{
    The seed cotangent (1 for the loss) and zero biases for the transposed
    convolutions that compute input gradients.

    Example:
    ```mlir
    %one = loco.fill {value = 1.0 : f64} : tensor<f32>
    ```
  }];
  let arguments = (ins F64Attr:$value, UnitAttr:$loss_scaled);
  let builders = [
    OpBuilder<(ins "::mlir::Type":$type, "::mlir::FloatAttr":$value), [{
      build($_builder, $_state, type, value, ::mlir::UnitAttr());
    }]>
  ];
  let results = (outs Loco_Tensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
}

#endif // LOCO_GRAD_OPS_TD
