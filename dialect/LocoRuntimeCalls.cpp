//===- LocoRuntimeCalls.cpp - The runtime kernels of loco ops -------------===//
//
// This file implements RuntimeCallOpInterface for every loco op: which
// kernel of runtime/abi/api.h computes it and the shape and attribute scalars
// that kernel takes after its buffers. The argument order here must match
// the C declarations in runtime/api.h.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::loco;

namespace {
/// Appends scalars to a runtime call's argument list.
class Scalars {
public:
  Scalars(Operation *op, SmallVectorImpl<Attribute> &out)
      : builder(op->getContext()), out(out) {}
  Scalars &i64(int64_t value) {
    out.push_back(builder.getI64IntegerAttr(value));
    return *this;
  }
  Scalars &f64(double value) {
    out.push_back(builder.getF64FloatAttr(value));
    return *this;
  }
  /// A random op's index offset: the lowering adds the replica's place
  /// (RngKeyAttr), so the key goes through whole, with its extent set.
  Scalars &rngOffset(RngKeyAttr rng, int64_t whole) {
    out.push_back(RngKeyAttr::get(builder.getContext(), rng.getStream(),
                                  rng.getOffset(),
                                  rng.getExtent() ? rng.getExtent() : whole));
    return *this;
  }
  Scalars &array(ArrayRef<int64_t> values) {
    out.push_back(builder.getDenseI64ArrayAttr(values));
    return *this;
  }

private:
  Builder builder;
  SmallVectorImpl<Attribute> &out;
};

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}
int64_t numElements(Value value) {
  return cast<RankedTensorType>(value.getType()).getNumElements();
}
/// The product of `shape[begin, end)`.
int64_t product(ArrayRef<int64_t> shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i)
    n *= shape[i];
  return n;
}
} // namespace

#define LOCO_RUNTIME_FUNCTION(OP, NAME)                                        \
  StringRef OP::getRuntimeFunction() { return NAME; }

LOCO_RUNTIME_FUNCTION(StftOp, "loco_stft")
LOCO_RUNTIME_FUNCTION(IstftOp, "loco_istft")
LOCO_RUNTIME_FUNCTION(Conv2dOp, "loco_conv2d")
LOCO_RUNTIME_FUNCTION(ConvTranspose2dOp, "loco_conv_transpose2d")
LOCO_RUNTIME_FUNCTION(Conv1dOp, "loco_conv1d")
LOCO_RUNTIME_FUNCTION(ConvTranspose1dOp, "loco_conv_transpose1d")
LOCO_RUNTIME_FUNCTION(GroupNormOp, "loco_group_norm")
LOCO_RUNTIME_FUNCTION(RmsGroupNormOp, "loco_rms_group_norm")
LOCO_RUNTIME_FUNCTION(LinearOp, "loco_linear")
LOCO_RUNTIME_FUNCTION(BatchMatmulOp, "loco_batch_matmul")
LOCO_RUNTIME_FUNCTION(RopeOp, "loco_rope")
LOCO_RUNTIME_FUNCTION(SoftmaxOp, "loco_softmax")
LOCO_RUNTIME_FUNCTION(DropoutOp, "loco_dropout")
LOCO_RUNTIME_FUNCTION(DropoutAddOp, "loco_dropout_add")
LOCO_RUNTIME_FUNCTION(AddOp, "loco_add")
LOCO_RUNTIME_FUNCTION(SubOp, "loco_sub")
LOCO_RUNTIME_FUNCTION(MulOp, "loco_mul")
LOCO_RUNTIME_FUNCTION(DivOp, "loco_div")
LOCO_RUNTIME_FUNCTION(SiluOp, "loco_silu")
LOCO_RUNTIME_FUNCTION(SwigluOp, "loco_swiglu")
LOCO_RUNTIME_FUNCTION(ScaleOp, "loco_scale")
// loco-lower-to-runtime appends the two element types: loco_cast_f32_bf16.
LOCO_RUNTIME_FUNCTION(CastOp, "loco_cast")
LOCO_RUNTIME_FUNCTION(ReshapeOp, "")
LOCO_RUNTIME_FUNCTION(TransposeOp, "loco_transpose")
LOCO_RUNTIME_FUNCTION(SliceOp, "loco_slice")
// One contiguous loco_copy per piece; loco-lower-to-runtime emits them.
LOCO_RUNTIME_FUNCTION(SplitOp, "loco_copy")
LOCO_RUNTIME_FUNCTION(ConcatOp, "loco_copy")
LOCO_RUNTIME_FUNCTION(PadOp, "loco_pad")
LOCO_RUNTIME_FUNCTION(ReduceSumOp, "loco_reduce")
LOCO_RUNTIME_FUNCTION(ReduceMeanOp, "loco_reduce")
LOCO_RUNTIME_FUNCTION(SiSdrOp, "loco_si_sdr")
LOCO_RUNTIME_FUNCTION(L1LossOp, "loco_l1_loss")
LOCO_RUNTIME_FUNCTION(MseLossOp, "loco_mse_loss")
LOCO_RUNTIME_FUNCTION(SpectralL1Op, "loco_spectral_l1")

void StftOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out).i64(in[0]).i64(in[1]).i64(getNFft()).i64(getHopLength());
}

void IstftOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[2])
      .i64(getNFft())
      .i64(getHopLength())
      .i64(getLength());
}

void Conv2dOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(in[3])
      .i64(w[0])
      .i64(w[2])
      .i64(w[3])
      .i64(getPadding()[0])
      .i64(getPadding()[1]);
}

void ConvTranspose2dOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(in[3])
      .i64(w[1])
      .i64(w[2])
      .i64(w[3])
      .i64(getPadding()[0])
      .i64(getPadding()[1]);
}

void Conv1dOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(w[0])
      .i64(w[2])
      .i64(getStride());
}

void ConvTranspose1dOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(w[1])
      .i64(w[2])
      .i64(getStride());
}

void GroupNormOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(product(in, 2, in.size()))
      .i64(getNumGroups())
      .f64(getEps().convertToDouble());
}

void RmsGroupNormOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(product(in, 0, in.size() - 1))
      .i64(in.back())
      .i64(getNumGroups())
      .f64(getEps().convertToDouble());
}

void LinearOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput()), w = shapeOf(getWeight());
  Scalars(*this, out).i64(product(in, 0, in.size() - 1)).i64(w[1]).i64(w[0]);
}

void BatchMatmulOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> lhs = shapeOf(getLhs()), res = shapeOf(getResult());
  size_t rank = lhs.size();
  int64_t k = lhs[rank - (getTransposeLhs() ? 2 : 1)];
  Scalars(*this, out)
      .i64(product(lhs, 0, rank - 2))
      .i64(res[rank - 2])
      .i64(k)
      .i64(res[rank - 1])
      .i64(getTransposeLhs() ? 1 : 0)
      .i64(getTransposeRhs() ? 1 : 0);
}

void RopeOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  size_t rank = in.size();
  Scalars(*this, out)
      .i64(product(in, 0, rank - 2))
      .i64(in[rank - 2])
      .i64(in[rank - 1])
      .f64(getTheta().convertToDouble())
      .i64(getInverse() ? 1 : 0);
}

void SoftmaxOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  size_t dim = getDim();
  Scalars(*this, out)
      .i64(product(in, 0, dim))
      .i64(in[dim])
      .i64(product(in, dim + 1, in.size()));
}

void DropoutOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out)
      .i64(numElements(getInput()))
      .f64(getP().convertToDouble())
      .i64(getRng().getStream())
      .rngOffset(getRng(), numElements(getInput()));
}

void DropoutAddOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out)
      .i64(numElements(getInput()))
      .f64(getP().convertToDouble())
      .i64(getRng().getStream())
      .rngOffset(getRng(), numElements(getInput()));
}

void AddOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}
void SubOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}
void MulOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}
void DivOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}
void SiluOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}
void SwigluOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> res = shapeOf(getResult());
  Scalars(*this, out).i64(product(res, 0, res.size() - 1)).i64(res.back());
}
void ScaleOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out)
      .i64(numElements(getResult()))
      .f64(getFactor().convertToDouble());
}

void CastOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}

void ReshapeOp::getRuntimeScalars(SmallVectorImpl<Attribute> &) {}

void TransposeOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out).i64(in.size()).array(in).array(getPermutation());
}

// The pieces' element counts, in order.
void SplitOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  for (Value result : getResults())
    Scalars(*this, out).i64(numElements(result));
}
void ConcatOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  for (Value input : getInputs())
    Scalars(*this, out).i64(numElements(input));
}

void SliceOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  size_t dim = getDim();
  Scalars(*this, out)
      .i64(product(in, 0, dim))
      .i64(in[dim])
      .i64(product(in, dim + 1, in.size()))
      .i64(getStart())
      .i64(getSize());
}

void PadOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out).i64(in.size()).array(in).array(getLow()).array(getHigh());
}

/// `[rank, shape, mask of reduced dims, mean]` for loco_reduce.
static void reduceScalars(Operation *op, Value input, ArrayRef<int64_t> dims,
                          bool mean, SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(input);
  SmallVector<int64_t> mask(in.size(), 0);
  for (int64_t dim : dims)
    mask[dim] = 1;
  Scalars(op, out).i64(in.size()).array(in).array(mask).i64(mean ? 1 : 0);
}

void ReduceSumOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  reduceScalars(*this, getInput(), getDims(), /*mean=*/false, out);
}
void ReduceMeanOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  reduceScalars(*this, getInput(), getDims(), /*mean=*/true, out);
}

void SiSdrOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getEstimate());
  Scalars(*this, out).i64(in[0]).i64(in[1]).f64(getEps().convertToDouble());
}
void L1LossOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getEstimate()));
}
void MseLossOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getEstimate()));
}
void SpectralL1Op::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getEstimate());
  Scalars(*this, out).i64(in[0]).i64(in[2]).i64(in[3]);
}

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

LOCO_RUNTIME_FUNCTION(StftBackwardOp, "loco_stft_backward")
LOCO_RUNTIME_FUNCTION(IstftBackwardOp, "loco_istft_backward")
LOCO_RUNTIME_FUNCTION(Conv2dWeightGradOp, "loco_conv2d_weight_grad")
LOCO_RUNTIME_FUNCTION(ConvTranspose2dWeightGradOp,
                      "loco_conv_transpose2d_weight_grad")
LOCO_RUNTIME_FUNCTION(Conv1dWeightGradOp, "loco_conv1d_weight_grad")
LOCO_RUNTIME_FUNCTION(ConvTranspose1dWeightGradOp,
                      "loco_conv_transpose1d_weight_grad")
LOCO_RUNTIME_FUNCTION(LinearWeightGradOp, "loco_linear_weight_grad")
LOCO_RUNTIME_FUNCTION(GroupNormBackwardOp, "loco_group_norm_backward")
LOCO_RUNTIME_FUNCTION(RmsGroupNormBackwardOp, "loco_rms_group_norm_backward")
LOCO_RUNTIME_FUNCTION(SoftmaxBackwardOp, "loco_softmax_backward")
LOCO_RUNTIME_FUNCTION(SiluBackwardOp, "loco_silu_backward")
LOCO_RUNTIME_FUNCTION(SwigluBackwardOp, "loco_swiglu_backward")
LOCO_RUNTIME_FUNCTION(BroadcastOp, "loco_broadcast")
LOCO_RUNTIME_FUNCTION(SiSdrBackwardOp, "loco_si_sdr_backward")
LOCO_RUNTIME_FUNCTION(L1LossBackwardOp, "loco_l1_loss_backward")
LOCO_RUNTIME_FUNCTION(MseLossBackwardOp, "loco_mse_loss_backward")
LOCO_RUNTIME_FUNCTION(SpectralL1BackwardOp, "loco_spectral_l1_backward")
// The seed of a loss-scaled backward pass (fp16) multiplies by the
// context's loss scale.
StringRef FillOp::getRuntimeFunction() {
  return getLossScaled() ? "loco_fill_loss_scaled" : "loco_fill";
}
LOCO_RUNTIME_FUNCTION(FlashAttentionOp, "loco_flash_attention")
LOCO_RUNTIME_FUNCTION(FlashAttentionGradOp, "loco_flash_attention_backward")
#undef LOCO_RUNTIME_FUNCTION

void StftBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out)
      .i64(shapeOf(getGrad())[0])
      .i64(getLength())
      .i64(getNFft())
      .i64(getHopLength());
}

void IstftBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> res = shapeOf(getResult());
  Scalars(*this, out)
      .i64(res[0])
      .i64(res[2])
      .i64(getNFft())
      .i64(getHopLength())
      .i64(shapeOf(getGrad())[1]);
}

/// `[B, Ci, H, W, Co, KH, KW, PH, PW]` of a 2-D weight gradient.
static void conv2dWeightGradScalars(Operation *op, Value input, Value grad,
                                    Value result, ArrayRef<int64_t> padding,
                                    SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(input), w = shapeOf(result);
  Scalars(op, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(in[3])
      .i64(shapeOf(grad)[1])
      .i64(w[2])
      .i64(w[3])
      .i64(padding[0])
      .i64(padding[1]);
}

void Conv2dWeightGradOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  conv2dWeightGradScalars(*this, getInput(), getGrad(), getResult(),
                          getPadding(), out);
}

void ConvTranspose2dWeightGradOp::getRuntimeScalars(
    SmallVectorImpl<Attribute> &out) {
  conv2dWeightGradScalars(*this, getInput(), getGrad(), getResult(),
                          getPadding(), out);
}

void Conv1dWeightGradOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(shapeOf(getGrad())[2])
      .i64(shapeOf(getResult())[2]);
}

void ConvTranspose1dWeightGradOp::getRuntimeScalars(
    SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(in[2])
      .i64(shapeOf(getGrad())[2])
      .i64(shapeOf(getResult())[2]);
}

void LinearWeightGradOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(product(in, 0, in.size() - 1))
      .i64(in.back())
      .i64(shapeOf(getGrad()).back());
}

void GroupNormBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(in[0])
      .i64(in[1])
      .i64(product(in, 2, in.size()))
      .i64(getNumGroups())
      .f64(getEps().convertToDouble());
}

void RmsGroupNormBackwardOp::getRuntimeScalars(
    SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getInput());
  Scalars(*this, out)
      .i64(product(in, 0, in.size() - 1))
      .i64(in.back())
      .i64(getNumGroups())
      .f64(getEps().convertToDouble());
}

void SoftmaxBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getGrad());
  size_t dim = getDim();
  Scalars(*this, out)
      .i64(product(in, 0, dim))
      .i64(in[dim])
      .i64(product(in, dim + 1, in.size()));
}

void SiluBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getResult()));
}

void SwigluBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> grad = shapeOf(getGrad());
  Scalars(*this, out).i64(product(grad, 0, grad.size() - 1)).i64(grad.back());
}

void BroadcastOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> res = shapeOf(getResult());
  SmallVector<int64_t> mask(res.size(), 0);
  for (int64_t dim : getDims())
    mask[dim] = 1;
  Scalars(*this, out).i64(res.size()).array(res).array(mask);
}

void SiSdrBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getEstimate());
  Scalars(*this, out).i64(in[0]).i64(in[1]).f64(getEps().convertToDouble());
}

void L1LossBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getEstimate()));
}

void MseLossBackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out).i64(numElements(getEstimate()));
}

void SpectralL1BackwardOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> in = shapeOf(getEstimate());
  Scalars(*this, out).i64(in[0]).i64(in[2]).i64(in[3]);
}

void FillOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  Scalars(*this, out)
      .i64(numElements(getResult()))
      .f64(getValue().convertToDouble());
}

/// `[batch, Lq, Lk, d, dv, scale, dropout, stream]` of the flash kernels
/// (stream -1 without an rng key).
static void flashScalars(Operation *op, Value q, Value k, Value v, double scale,
                         double dropout, RngKeyAttr rng,
                         SmallVectorImpl<Attribute> &out) {
  ArrayRef<int64_t> qs = shapeOf(q), ks = shapeOf(k), vs = shapeOf(v);
  size_t rank = qs.size();
  Scalars scalars(op, out);
  scalars.i64(product(qs, 0, rank - 2))
      .i64(qs[rank - 2])
      .i64(ks[rank - 2])
      .i64(qs[rank - 1])
      .i64(vs[rank - 1])
      .f64(scale)
      .f64(dropout);
  if (!rng) {
    scalars.i64(-1).i64(0);
    return;
  }
  scalars.i64(static_cast<int64_t>(rng.getStream()))
      .rngOffset(rng, product(qs, 0, rank - 1) * ks[rank - 2]);
}

void FlashAttentionOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  flashScalars(*this, getQuery(), getKey(), getValue(),
               getScale().convertToDouble(), getDropout().convertToDouble(),
               getRngAttr(), out);
}

void FlashAttentionGradOp::getRuntimeScalars(SmallVectorImpl<Attribute> &out) {
  flashScalars(*this, getQuery(), getKey(), getValue(),
               getScale().convertToDouble(), getDropout().convertToDouble(),
               getRngAttr(), out);
}
