//===- LocoLossOps.td - Loss ops of loco -------------------*- tablegen -*-===//
//
// The pieces of upstream's MSSLoss: SI-SDR per item, L1, MSE, and the
// log1p-magnitude spectral L1. Included by LocoOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_LOSS_OPS_TD
#define LOCO_LOSS_OPS_TD

//===----------------------------------------------------------------------===//
// Loss pieces
//===----------------------------------------------------------------------===//

def Loco_SiSdrOp : Loco_InferOp<"si_sdr"> {
  let summary = "scale-invariant signal-to-distortion ratio per batch item, in dB";
  let description = [{
    Upstream MSSLoss's SI-SDR of an estimate `e` against a target `t`, per
    batch item: both made zero-mean; `a = <e, t> / (||t||^2 + eps)`;
    `p = a t`; `sisdr = 10 log10((||p||^2 + eps) / (||e - p||^2 + eps))`.
    The loss term is `-mean(sisdr) * weight`, built from this op,
    `loco.reduce_mean` and `loco.scale`.

    Shapes: estimate and target `[B, N]`; result `[B]`.

    Example:
    ```mlir
    %s = loco.si_sdr %e, %t {eps = 1.0e-08 : f64}
        : (tensor<2x4096xf32>, tensor<2x4096xf32>) -> tensor<2xf32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor2D:$estimate, Loco_F32Tensor2D:$target, F64Attr:$eps);
  let results = (outs Loco_F32Tensor1D:$result);
}

def Loco_L1LossOp : Loco_InferOp<"l1_loss"> {
  let summary = "mean absolute error";
  let description = [{
    `torch.nn.L1Loss()(estimate, target)`: the mean of `|e - t|` over all
    elements.

    Shapes: two operands of one shape; result `tensor<f32>`.

    Example:
    ```mlir
    %l = loco.l1_loss %e, %t : (tensor<2x4096xf32>, tensor<2x4096xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$estimate, Loco_F32Tensor:$target);
  let results = (outs Loco_Scalar:$result);
}

def Loco_MseLossOp : Loco_InferOp<"mse_loss"> {
  let summary = "mean squared error";
  let description = [{
    `torch.nn.MSELoss()(estimate, target)`: the mean of `(e - t)^2` over all
    elements.

    Shapes: two operands of one shape; result `tensor<f32>`.

    Example:
    ```mlir
    %l = loco.mse_loss %e, %t : (tensor<2x4096xf32>, tensor<2x4096xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor:$estimate, Loco_F32Tensor:$target);
  let results = (outs Loco_Scalar:$result);
}

def Loco_SpectralL1Op : Loco_InferOp<"spectral_l1"> {
  let summary = "mean absolute difference of log1p magnitudes of two spectra";
  let description = [{
    The spectral term of upstream MSSLoss on two outputs of `loco.stft`:
    `m = log1p(sqrt(re^2 + im^2))` per bin and frame, and the mean of
    `|m_e - m_t|` over `B x T x F`. The gradient of the magnitude at zero is
    zero.

    Shapes: two operands `[B, 2, T, F]` of one shape; result `tensor<f32>`.

    Example:
    ```mlir
    %l = loco.spectral_l1 %E, %T
        : (tensor<2x2x5x1025xf32>, tensor<2x2x5x1025xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Loco_F32Tensor4D:$estimate, Loco_F32Tensor4D:$target);
  let results = (outs Loco_Scalar:$result);
}

#endif // LOCO_LOSS_OPS_TD
