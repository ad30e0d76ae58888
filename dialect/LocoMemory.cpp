//===- LocoMemory.cpp - What loco ops need of the arena -------------------===//
//
// This file implements the memory side of RuntimeCallOpInterface for every
// op: the scratch its kernel takes from the arena's workspace (the sizes of
// runtime/abi/Workspace.h, shared with the kernels) and whether its kernel may
// write its result over an operand (element-wise kernels that read each
// element before writing it), which the memory planner uses for in-place
// reuse.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoOps.h"
#include "runtime/abi/Workspace.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::loco;
namespace workspace = ::loco::workspace;

static ArrayRef<int64_t> shape(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}
static int64_t count(Value value) {
  return cast<RankedTensorType>(value.getType()).getNumElements();
}
/// Whether `value` is stored in bf16 or f16 (the staged CPU kernels).
static bool reduced(Value value) {
  return !cast<RankedTensorType>(value.getType()).getElementType().isF32();
}
/// The product of all but the last `trailing` dims of `value`.
static int64_t leading(Value value, unsigned trailing) {
  int64_t n = 1;
  for (int64_t d : shape(value).drop_back(trailing))
    n *= d;
  return n;
}

int64_t StftOp::getWorkspaceBytes() {
  auto in = shape(getInput());
  return workspace::stft(in[1], getNFft(), getHopLength());
}
int64_t IstftOp::getWorkspaceBytes() {
  auto in = shape(getInput());
  return workspace::istft(in[2], getNFft(), getHopLength());
}
/// A 2-D convolution's scratch: none in f32, a staged batch item otherwise.
static int64_t conv2dBytes(Value input, Value weight, Value result) {
  if (!reduced(input))
    return 0;
  auto in = shape(input);
  return workspace::conv2dStaged(in[0], count(input) / in[0],
                                 count(result) / in[0], count(weight),
                                 shape(result)[1]);
}
/// A 1-D convolution's: the weight per tap, and staged rows when reduced.
static int64_t conv1dBytes(Value input, Value weight, Value result, int64_t Ci,
                           int64_t Co) {
  auto w = shape(weight);
  if (!reduced(input))
    return workspace::conv1dTaps(Ci, Co, w[2]);
  auto in = shape(input), out = shape(result);
  return workspace::conv1dStaged(in[0], in[1], Ci, out[1], Co, count(weight));
}
int64_t Conv2dOp::getWorkspaceBytes() {
  return conv2dBytes(getInput(), getWeight(), getResult());
}
int64_t ConvTranspose2dOp::getWorkspaceBytes() {
  return conv2dBytes(getInput(), getWeight(), getResult());
}
int64_t Conv1dOp::getWorkspaceBytes() {
  auto w = shape(getWeight());
  return conv1dBytes(getInput(), getWeight(), getResult(), w[1], w[0]);
}
int64_t ConvTranspose1dOp::getWorkspaceBytes() {
  auto w = shape(getWeight());
  return conv1dBytes(getInput(), getWeight(), getResult(), w[0], w[1]);
}
int64_t GroupNormOp::getWorkspaceBytes() { return 0; }
int64_t RmsGroupNormOp::getWorkspaceBytes() { return 0; }
int64_t LinearOp::getWorkspaceBytes() {
  auto w = shape(getWeight());
  if (!reduced(getInput()))
    return workspace::linear(w[0], w[1]);
  return workspace::linearStaged(leading(getInput(), 1), w[1], w[0]);
}
int64_t BatchMatmulOp::getWorkspaceBytes() {
  auto out = shape(getResult());
  int64_t M = out[out.size() - 2], N = out.back();
  int64_t K = count(getLhs()) / (leading(getLhs(), 2) * M);
  if (!reduced(getLhs()))
    return workspace::batchMatmul(K, N, getTransposeRhs());
  return workspace::batchMatmulStaged(leading(getResult(), 2), M, K, N,
                                      getTransposeRhs());
}
int64_t RopeOp::getWorkspaceBytes() {
  auto in = shape(getInput());
  return workspace::rope(in[in.size() - 2], in.back());
}
int64_t SoftmaxOp::getWorkspaceBytes() { return 0; }
int64_t DropoutOp::getWorkspaceBytes() { return 0; }
int64_t DropoutAddOp::getWorkspaceBytes() { return 0; }
int64_t FlashAttentionOp::getWorkspaceBytes() {
  auto q = shape(getQuery()), v = shape(getValue());
  int64_t d = q.back(), dv = v.back(), Lq = q[q.size() - 2],
          Lk = v[v.size() - 2];
  if (!reduced(getQuery()))
    return workspace::flashAttention(d, dv);
  return workspace::flashAttentionStaged(leading(getQuery(), 2), Lq, Lk, d, dv);
}
int64_t AddOp::getWorkspaceBytes() { return 0; }
int64_t SubOp::getWorkspaceBytes() { return 0; }
int64_t MulOp::getWorkspaceBytes() { return 0; }
int64_t DivOp::getWorkspaceBytes() { return 0; }
int64_t SiluOp::getWorkspaceBytes() { return 0; }
int64_t SwigluOp::getWorkspaceBytes() { return 0; }
int64_t ScaleOp::getWorkspaceBytes() { return 0; }
int64_t CastOp::getWorkspaceBytes() { return 0; }
int64_t ReshapeOp::getWorkspaceBytes() { return 0; }
int64_t TransposeOp::getWorkspaceBytes() { return 0; }
int64_t SliceOp::getWorkspaceBytes() { return 0; }
int64_t SplitOp::getWorkspaceBytes() { return 0; }
int64_t ConcatOp::getWorkspaceBytes() { return 0; }
int64_t PadOp::getWorkspaceBytes() { return 0; }
int64_t ReduceSumOp::getWorkspaceBytes() {
  return workspace::reduce(count(getResult()));
}
int64_t ReduceMeanOp::getWorkspaceBytes() {
  return workspace::reduce(count(getResult()));
}
int64_t SiSdrOp::getWorkspaceBytes() { return 0; }
int64_t L1LossOp::getWorkspaceBytes() { return 0; }
int64_t MseLossOp::getWorkspaceBytes() { return 0; }
int64_t SpectralL1Op::getWorkspaceBytes() { return 0; }
int64_t StftBackwardOp::getWorkspaceBytes() {
  return workspace::stftBackward(getLength(), getNFft(), getHopLength());
}
int64_t IstftBackwardOp::getWorkspaceBytes() {
  return workspace::istftBackward(shape(getResult())[2], getNFft(),
                                  getHopLength());
}
/// A weight gradient's scratch when reduced: staged items and the fp32 sum.
static int64_t conv2dWeightGradBytes(Value input, Value grad, Value result) {
  if (!reduced(input))
    return 0;
  int64_t B = shape(input)[0];
  return workspace::conv2dWeightGradStaged(B, count(input) / B, count(grad) / B,
                                           count(result));
}
static int64_t conv1dWeightGradBytes(Value input, Value grad, Value result,
                                     int64_t Ci, int64_t Co) {
  auto w = shape(result);
  auto in = shape(input), g = shape(grad);
  if (!reduced(input))
    return workspace::conv1dWeightGrad(in[0], in[1], Ci, g[1], Co, w[2]);
  return workspace::conv1dWeightGradStaged(in[0], in[1], Ci, g[1], Co,
                                           count(result));
}
int64_t Conv2dWeightGradOp::getWorkspaceBytes() {
  return conv2dWeightGradBytes(getInput(), getGrad(), getResult());
}
int64_t ConvTranspose2dWeightGradOp::getWorkspaceBytes() {
  return conv2dWeightGradBytes(getInput(), getGrad(), getResult());
}
int64_t Conv1dWeightGradOp::getWorkspaceBytes() {
  auto w = shape(getResult());
  return conv1dWeightGradBytes(getInput(), getGrad(), getResult(), w[1], w[0]);
}
int64_t ConvTranspose1dWeightGradOp::getWorkspaceBytes() {
  auto w = shape(getResult());
  return conv1dWeightGradBytes(getInput(), getGrad(), getResult(), w[0], w[1]);
}
int64_t LinearWeightGradOp::getWorkspaceBytes() {
  auto w = shape(getResult());
  if (!reduced(getInput()))
    return workspace::linearWeightGrad(w[0], w[1]);
  return workspace::linearWeightGradStaged(leading(getInput(), 1), w[1], w[0]);
}
int64_t GroupNormBackwardOp::getWorkspaceBytes() {
  auto in = shape(getInput());
  return workspace::groupNormBackward(in[0], in[1]);
}
int64_t RmsGroupNormBackwardOp::getWorkspaceBytes() {
  return workspace::rmsGroupNormBackward(shape(getInput()).back());
}
int64_t SoftmaxBackwardOp::getWorkspaceBytes() { return 0; }
int64_t SiluBackwardOp::getWorkspaceBytes() { return 0; }
int64_t SwigluBackwardOp::getWorkspaceBytes() { return 0; }
int64_t BroadcastOp::getWorkspaceBytes() { return 0; }
int64_t SiSdrBackwardOp::getWorkspaceBytes() {
  return workspace::siSdrBackward(shape(getEstimate())[1]);
}
int64_t L1LossBackwardOp::getWorkspaceBytes() { return 0; }
int64_t MseLossBackwardOp::getWorkspaceBytes() { return 0; }
int64_t SpectralL1BackwardOp::getWorkspaceBytes() { return 0; }
int64_t FlashAttentionGradOp::getWorkspaceBytes() {
  auto q = shape(getQuery()), v = shape(getValue());
  int64_t d = q.back(), dv = v.back(), Lq = q[q.size() - 2],
          Lk = v[v.size() - 2];
  if (!reduced(getQuery()))
    return workspace::flashAttentionBackward(Lq, d, dv);
  return workspace::flashAttentionBackwardStaged(leading(getQuery(), 2), Lq, Lk,
                                                 d, dv);
}
int64_t FillOp::getWorkspaceBytes() { return 0; }

bool StftOp::allowsInPlace(unsigned) { return false; }
bool IstftOp::allowsInPlace(unsigned) { return false; }
bool Conv2dOp::allowsInPlace(unsigned) { return false; }
bool ConvTranspose2dOp::allowsInPlace(unsigned) { return false; }
bool Conv1dOp::allowsInPlace(unsigned) { return false; }
bool ConvTranspose1dOp::allowsInPlace(unsigned) { return false; }
bool GroupNormOp::allowsInPlace(unsigned) { return false; }
bool RmsGroupNormOp::allowsInPlace(unsigned) { return false; }
bool LinearOp::allowsInPlace(unsigned) { return false; }
bool BatchMatmulOp::allowsInPlace(unsigned) { return false; }
bool RopeOp::allowsInPlace(unsigned index) { return index == 0; }
bool SoftmaxOp::allowsInPlace(unsigned index) { return index == 0; }
bool DropoutOp::allowsInPlace(unsigned index) { return index == 0; }
// Each element reads its residual and input before writing the result; a
// reduced input is narrower than the result.
bool DropoutAddOp::allowsInPlace(unsigned index) {
  return index == 0 || getInput().getType() == getResult().getType();
}
bool FlashAttentionOp::allowsInPlace(unsigned) { return false; }
bool AddOp::allowsInPlace(unsigned) { return true; }
bool SubOp::allowsInPlace(unsigned) { return true; }
bool MulOp::allowsInPlace(unsigned) { return true; }
bool DivOp::allowsInPlace(unsigned) { return true; }
bool SiluOp::allowsInPlace(unsigned index) { return index == 0; }
// The result row is half the input row: writing it in place would overwrite
// input rows another thread has still to read.
bool SwigluOp::allowsInPlace(unsigned) { return false; }
bool ScaleOp::allowsInPlace(unsigned index) { return index == 0; }
// Different element sizes: never in place.
bool CastOp::allowsInPlace(unsigned) { return false; }
bool ReshapeOp::allowsInPlace(unsigned) { return false; }
bool TransposeOp::allowsInPlace(unsigned) { return false; }
bool SliceOp::allowsInPlace(unsigned) { return false; }
bool SplitOp::allowsInPlace(unsigned) { return false; }
bool ConcatOp::allowsInPlace(unsigned) { return false; }
bool PadOp::allowsInPlace(unsigned) { return false; }
bool ReduceSumOp::allowsInPlace(unsigned) { return false; }
bool ReduceMeanOp::allowsInPlace(unsigned) { return false; }
bool SiSdrOp::allowsInPlace(unsigned) { return false; }
bool L1LossOp::allowsInPlace(unsigned) { return false; }
bool MseLossOp::allowsInPlace(unsigned) { return false; }
bool SpectralL1Op::allowsInPlace(unsigned) { return false; }
bool StftBackwardOp::allowsInPlace(unsigned) { return false; }
bool IstftBackwardOp::allowsInPlace(unsigned) { return false; }
bool Conv2dWeightGradOp::allowsInPlace(unsigned) { return false; }
bool ConvTranspose2dWeightGradOp::allowsInPlace(unsigned) { return false; }
bool Conv1dWeightGradOp::allowsInPlace(unsigned) { return false; }
bool ConvTranspose1dWeightGradOp::allowsInPlace(unsigned) { return false; }
bool LinearWeightGradOp::allowsInPlace(unsigned) { return false; }
bool GroupNormBackwardOp::allowsInPlace(unsigned) { return false; }
bool RmsGroupNormBackwardOp::allowsInPlace(unsigned) { return false; }
bool SoftmaxBackwardOp::allowsInPlace(unsigned) { return true; }
bool SiluBackwardOp::allowsInPlace(unsigned) { return true; }
// Each (value, gate) pair of the input is read before the same two
// positions of the result are written; the cotangent is half as wide.
bool SwigluBackwardOp::allowsInPlace(unsigned index) { return index == 0; }
bool BroadcastOp::allowsInPlace(unsigned) { return false; }
bool SiSdrBackwardOp::allowsInPlace(unsigned) { return false; }
bool L1LossBackwardOp::allowsInPlace(unsigned) { return false; }
bool MseLossBackwardOp::allowsInPlace(unsigned) { return false; }
bool SpectralL1BackwardOp::allowsInPlace(unsigned) { return false; }
bool FlashAttentionGradOp::allowsInPlace(unsigned) { return false; }
bool FillOp::allowsInPlace(unsigned) { return false; }
