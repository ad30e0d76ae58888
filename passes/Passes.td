//===- Passes.td - Passes of lococ -------------------------*- tablegen -*-===//
//
// Every loco pass: one record here, one .cpp, one lit test, one flag.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_TD
#define LOCO_PASSES_TD

include "mlir/Pass/PassBase.td"

def LocoStripDropoutPass : Pass<"loco-strip-dropout", "::mlir::ModuleOp"> {
  let summary = "Replace dropout ops by their input";
  let description = [{
    Turns the training step into its evaluation form: every `loco.dropout`
    is replaced by its operand. With `only-zero`, only dropouts whose
    probability is 0 (configs with `model.dropout: 0`, the golden sets) are
    removed, which keeps training semantics unchanged.

    Before:
    ```mlir
    %y = loco.dropout %x {p = 0.0 : f64, rng = #loco.rng<stream = 0>}
        : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %z = loco.add %y, %y : tensor<4x8xf32>
    ```
    After:
    ```mlir
    %z = loco.add %x, %x : tensor<4x8xf32>
    ```
  }];
  let options = [
    Option<"onlyZero", "only-zero", "bool", /*default=*/"false",
           "Remove only dropouts with p = 0">
  ];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numRemoved", "dropouts-removed", "Dropout ops removed">
  ];
}

def LocoFuseAttentionPass : Pass<"loco-fuse-attention", "::mlir::ModuleOp"> {
  let summary = "Fuse scaled dot-product attention into loco.flash_attention";
  let description = [{
    Rewrites the attention the frontend emits, as upstream computes it,

      `s = batch_matmul(q, k, transpose_rhs)`, `s' = scale(s, 1/sqrt(d))`,
      `p = softmax(s', last dim)`, optionally `p' = dropout(p)`,
      `o = batch_matmul(p', v)`,

    into one `loco.flash_attention` (whose gradient is
    `loco.flash_attention_grad`), so that no `L x L` tensor exists in the
    forward pass, the backward pass, or the arena. RoPE stays on q and k
    before the op. It fuses only the exact composition: every intermediate
    must have no other user, the softmax must run over the keys (the last
    dim), the scale must be a `loco.scale` by `1/sqrt(d)` (the default of
    scaled_dot_product_attention and upstream's), and nothing (a mask, a
    bias) may sit between the products and the softmax. Runs before
    autodiff.

    Before:
    ```mlir
    %s = loco.batch_matmul %q, %k {transpose_rhs} : ... -> tensor<4x2x9x9xf32>
    %t = loco.scale %s {factor = 0.5 : f64} : tensor<4x2x9x9xf32>
    %p = loco.softmax %t {dim = 3 : i64} : ...
    %o = loco.batch_matmul %p, %v : ... -> tensor<4x2x9x4xf32>
    ```
    After:
    ```mlir
    %o, %lse = loco.flash_attention %q, %k, %v {dropout = 0.0 : f64, scale = 0.5 : f64} : ...
    ```
  }];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numFused", "attentions-fused", "Attentions fused">
  ];
}

def LocoAutodiffPass : Pass<"loco-autodiff", "::mlir::ModuleOp"> {
  let summary = "Differentiate the training step (reverse mode)";
  let description = [{
    Keeps a copy of `@train_step` as `@eval_step` (forward and loss), then
    appends to `@train_step` the gradient of its first result (the total
    loss) with respect to every argument marked `loco.param`, built op by op
    in reverse through GradientOpInterface. Cotangents of values with several
    uses are summed. The seed is `1 / gradient_accumulation_steps` (from the
    module's `loco.training` dictionary; 1 when absent), so that summing the
    gradients of that many micro-steps gives the gradient of the mean loss,
    as upstream's accumulation does. Gradients are returned after the
    original results, named `grad:<parameter>`; the backward ops carry a
    `loco.backward` unit attribute. Ops that only feed unused
    cotangents (for instance the adjoint of the mixture's STFT) are removed.

    Before:
    ```mlir
    func.func @train_step(%w: tensor<4xf32> {loco.param = "w"},
                          %x: tensor<4xf32> {loco.input = "mixture"})
        -> (tensor<f32> {loco.name = "total_loss"}) {
      %y = loco.mul %w, %x : tensor<4xf32>
      %l = loco.reduce_sum %y {dims = array<i64: 0>} : (tensor<4xf32>) -> tensor<f32>
      return %l : tensor<f32>
    }
    ```
    After (abridged):
    ```mlir
    func.func @train_step(...) -> (tensor<f32> {loco.name = "total_loss"},
                                   tensor<4xf32> {loco.name = "grad:w"}) {
      ...
      %seed = loco.fill {value = 1.0 : f64} : tensor<f32>
      %gy = loco.broadcast %seed {dims = array<i64: 0>} : (tensor<f32>) -> tensor<4xf32>
      %gw = loco.mul %gy, %x : tensor<4xf32>
      return %l, %gw : tensor<f32>, tensor<4xf32>
    }
    ```
  }];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numGradientOps", "gradient-ops", "Ops created for the backward pass">
  ];
}

def LocoPlanMemoryPass : Pass<"loco-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Give every buffer of the step a static offset in one arena";
  let description = [{
    Plans the arena of `@train_step` (and `@eval_step`, which never runs at
    the same time and shares the activation region):

    - fixed regions, in order: parameters and data inputs (argument order),
      per parameter its gradient accumulator and AdamW moments, the
      optimizer's scratch scalars, and the kernels' workspace (the largest
      `getWorkspaceBytes` of any op);
    - first, a schedule tweak: a pure op whose operands all have later
      readers is sunk to just before its first user, which shortens its
      result's live range without lengthening any other (fills, weight
      transposes and weight gradients move this way);
    - then BufferLiveness (views alias their operand; element-wise results
      reuse an operand that dies at their op) and a greedy-by-size best-fit
      placement of the activations and temporaries, 256-byte aligned.

    It annotates the IR: `loco.offset` on arguments (and `loco.grad_offset`,
    `loco.m_offset`, `loco.v_offset` on parameters), `loco.offsets` on every
    op (one per result), and the module's `loco.memory` dictionary
    (`arena_bytes`, `lower_bound_bytes` = fixed regions + workspace + the
    largest live-bytes maximum of the two steps, `workspace_offset`,
    `workspace_bytes`, `scratch_offset`, `activation_base`).
  }];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numSunk", "ops-sunk", "Ops moved to just before their first user">,
    Statistic<"numInPlace", "in-place", "Results placed over a dying operand">,
    Statistic<"arenaBytes", "arena-bytes", "Bytes of the arena">
  ];
}

def LocoLowerToRuntimePass : Pass<"loco-lower-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Place every tensor in one arena and lower ops to runtime calls";
  let description = [{
    Lowers `@train_step` (and `@eval_step`) to the LLVM dialect on the
    arena that `loco-plan-memory` planned (it reads the offsets that pass
    annotated). Each op becomes a call of its runtime kernel
    (RuntimeCallOpInterface) on `arena + offset` pointers.

    The result holds `llvm.func @loco_forward(%ctx, %arena)`, the constant
    `@loco_abi_version`, and `@loco_manifest`: a JSON document with the
    config, target, arena bytes, the parameter table (upstream names,
    shapes, offsets, init), the non-trainable buffers, and the inputs' and
    outputs' names, shapes and offsets.

    Before:
    ```mlir
    func.func @train_step(%w: tensor<4xf32> {loco.param = "w"},
                          %x: tensor<4xf32> {loco.input = "mixture"})
        -> (tensor<4xf32> {loco.name = "y"}) {
      %y = loco.add %w, %x : tensor<4xf32>
      return %y : tensor<4xf32>
    }
    ```
    After (abridged):
    ```mlir
    llvm.func @loco_add(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
    llvm.func @loco_forward(%ctx: !llvm.ptr, %arena: !llvm.ptr) {
      %w = llvm.getelementptr %arena[0] ...
      %x = llvm.getelementptr %arena[256] ...
      %y = llvm.getelementptr %arena[512] ...
      llvm.call @loco_add(%ctx, %w, %x, %y, %c4) ...
      llvm.return
    }
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "The runtime backend the artifact is for">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
  let statistics = [
    Statistic<"numCalls", "runtime-calls", "Runtime kernel calls emitted">,
    Statistic<"arenaBytes", "arena-bytes", "Bytes of the arena">
  ];
}

#endif // LOCO_PASSES_TD
