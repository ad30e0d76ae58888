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

def LocoFuseElementwisePass : Pass<"loco-fuse-elementwise", "::mlir::ModuleOp"> {
  let summary = "Fuse element-wise chains: the SwiGLU gate, dropout into residual adds";
  let description = [{
    Rewrites two element-wise chains of the model into single ops. First,
    the gate of upstream's `swiglu_conv1d` FFN, as the frontend emits it,

      `a = slice(h, last dim, 0, H)`, `b = slice(h, last dim, H, H)`,
      `u = mul(a, silu(b))` (either operand order),

    into one `loco.swiglu`, whose gradient is `loco.swiglu_backward`. The
    two halves are never copied out of `h`, and the backward writes `h`'s
    cotangent in one pass instead of two products, a SiLU backward, two
    pads to `2H` and their sum. The arena keeps `h` (which the convolution's
    weight gradient needs anyway) in place of `a`, `b` and `silu(b)`.
    Rounding is unchanged: the fused kernels round where the unfused ops
    store. Only the exact composition fuses: every intermediate must have
    no other user, and the two slices must be the two halves of the same
    value's last dim.

    Second, every residual add of a dropout, `add(r, dropout(x))` (either
    operand order; the dropout has no other user), becomes
    `loco.dropout_add r, x` with the dropout's `p` and `rng` key: the
    dropped-out tensor is never stored, and the backward is one dropout of
    the cotangent (which the add passed on unchanged). Each path's three
    sublayers (two FFNs and the attention) end in one. loco-autocast keeps
    the input's type (bf16 under AMP) and the residual stream's (f32), and
    the kernel widens the rounded dropout as the unfused cast did; results
    are bit-identical to the unfused ops.

    Runs before autocast and autodiff.

    Before:
    ```mlir
    %a = loco.slice %h {dim = 2 : i64, size = 8 : i64, start = 0 : i64} : ...
    %b = loco.slice %h {dim = 2 : i64, size = 8 : i64, start = 8 : i64} : ...
    %s = loco.silu %b : tensor<6x9x8xf32>
    %u = loco.mul %a, %s : tensor<6x9x8xf32>
    ```
    After:
    ```mlir
    %u = loco.swiglu %h : (tensor<6x9x16xf32>) -> tensor<6x9x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numFused", "swiglu-gates-fused", "SwiGLU gates fused">,
    Statistic<"numResidualsFused", "dropout-adds-fused", "Residual adds of a dropout fused">
  ];
}

def LocoAutocastPass : Pass<"loco-autocast", "::mlir::ModuleOp"> {
  let summary = "Assign each op an element type by torch.autocast's CUDA policy";
  let description = [{
    Mixed precision as `torch.autocast(device_type="cuda", dtype=...)` runs
    the model (`training.use_amp: true`, `training.amp_dtype`), made a
    property of the IR: every op gets the element type the policy gives it,
    and explicit `loco.cast` ops convert where it changes.

    | ops | element type |
    | --- | --- |
    | `linear`, `batch_matmul`, `conv1d`, `conv_transpose1d`, `conv2d`, `conv_transpose2d`, `flash_attention` | `dtype` (their operands are cast down; `lse` stays f32) |
    | `stft`, `istft`, `group_norm`, `rms_group_norm`, `softmax`, `rope`, `reduce_sum`, `reduce_mean`, the losses | f32 (their operands are cast up) |
    | everything else (element-wise, data movement, dropout) | the widest of its operands' types, as torch promotes |
    | `dropout_add` | the residual and the result promote with the input; the input keeps its type (the unfused dropout ran in it) |

    RoPE is f32 because upstream's `apply_rope` disables autocast and casts to
    float. Parameters (the master weights) stay f32 arguments; each one the
    policy needs in `dtype` is cast once at the top of the function and
    reused by every use, as autocast's weight cache does, so the casts sit
    outside every row region and their gradients (autodiff sums them in f32)
    reach the f32 accumulators. A value cast twice to one type is cast once.
    The function's results keep their types. Runs after
    `loco-fuse-attention` and before `loco-chunk-rows` and autodiff.

    Before:
    ```mlir
    %y = loco.linear %x, %w : (tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<8x4xf32>
    %z = loco.add %x2, %y : tensor<8x4xf32>
    ```
    After (`dtype=bf16`):
    ```mlir
    %wb = loco.cast %w : tensor<4x16xf32> to tensor<4x16xbf16>
    %xb = loco.cast %x : tensor<8x16xf32> to tensor<8x16xbf16>
    %y = loco.linear %xb, %wb : (tensor<8x16xbf16>, tensor<4x16xbf16>) -> tensor<8x4xbf16>
    %yf = loco.cast %y : tensor<8x4xbf16> to tensor<8x4xf32>
    %z = loco.add %x2, %yf : tensor<8x4xf32>
    ```
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", /*default=*/"\"bf16\"",
           "The lower precision: bf16 or f16">
  ];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numLowered", "ops-lowered", "Ops run in the lower precision">,
    Statistic<"numCasts", "casts-inserted", "loco.cast ops inserted">
  ];
}

def LocoChunkRowsPass : Pass<"loco-chunk-rows", "::mlir::ModuleOp"> {
  let summary = "Run each row-independent region a chunk of rows at a time";
  let description = [{
    Finds the regions of a Locoformer path: a `loco.reshape` that flattens
    the two leading dims into rows (`[B, T, ...] -> [B*T, ...]`), grown
    forward through every op that is row-independent along the rows
    (RowIndependentOpInterface; reshapes and transposes move the row dim,
    slices and pads must leave it alone) and whose other operands are used
    whole by every row (weights). A region ends where its rows are mixed or
    unflattened. With `chunks = n >= 1`, the region's input is split into `n`
    balanced row chunks (`loco.split`), the region's ops are cloned per chunk
    (tagged `loco.chunk = array<i64: region, chunk>`), and each output is
    stacked again (`loco.concat`). Random ops get the offset of their
    chunk's first row in the `#loco.rng` key, so the chunks draw exactly the
    whole op's numbers. Runs before autodiff: the chunks' gradients then
    accumulate the parameter gradients across chunks, and
    `loco-rematerialize` recomputes one chunk at a time.

    It records the regions (rows, chunk count, op count) in the module's
    `loco.row_chunks` array for the memory report (chunk count 1 when
    `chunks = 0`). Regions with fewer than
    `min-ops` ops are left alone.

    Before (`chunks = 2`):
    ```mlir
    %r = loco.reshape %x : tensor<2x3x4x8xf32> -> tensor<6x4x8xf32>
    %n = loco.rms_group_norm %r, %g {eps = 1.0e-05 : f64, num_groups = 2 : i64}
        : (tensor<6x4x8xf32>, tensor<8xf32>) -> tensor<6x4x8xf32>
    %y = loco.add %r, %n : tensor<6x4x8xf32>
    %o = loco.reshape %y : tensor<6x4x8xf32> -> tensor<2x3x4x8xf32>
    ```
    After:
    ```mlir
    %r = loco.reshape %x : tensor<2x3x4x8xf32> -> tensor<6x4x8xf32>
    %a, %b = loco.split %r {sizes = array<i64: 3, 3>} : ...
    %n0 = loco.rms_group_norm %a, %g {..., loco.chunk = array<i64: 0, 0>} : ...
    %y0 = loco.add %a, %n0 {loco.chunk = array<i64: 0, 0>} : tensor<3x4x8xf32>
    %n1 = loco.rms_group_norm %b, %g {..., loco.chunk = array<i64: 0, 1>} : ...
    %y1 = loco.add %b, %n1 {loco.chunk = array<i64: 0, 1>} : tensor<3x4x8xf32>
    %y = loco.concat %y0, %y1 : ... -> tensor<6x4x8xf32>
    %o = loco.reshape %y : tensor<6x4x8xf32> -> tensor<2x3x4x8xf32>
    ```
  }];
  let options = [
    Option<"chunks", "chunks", "int64_t", /*default=*/"0",
           "Row chunks per region (0: find and record regions only; 1: one "
           "chunk, for loco-rematerialize to recompute region by region)">,
    Option<"minOps", "min-ops", "int64_t", /*default=*/"2",
           "Smallest region worth chunking, in ops">
  ];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numRegions", "regions", "Row-independent regions found">,
    Statistic<"numChunked", "regions-chunked", "Regions split into chunks">
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

def LocoRematerializePass : Pass<"loco-rematerialize", "::mlir::ModuleOp"> {
  let summary = "Recompute activations in the backward pass instead of keeping them";
  let description = [{
    Runs after `loco-chunk-rows` and `loco-autodiff`. The backward ops of
    `@train_step` (marked `loco.backward`) read forward values; with
    `checkpoint-every = s >= 1` the pass keeps only checkpoints alive from
    the forward pass and rebuilds every other value just before the backward
    op that reads it, by cloning its forward ops (marked `loco.recompute`)
    from checkpoints:

    - values inside a row chunk (`loco.chunk`) are rebuilt, one chunk at a
      time: the chunk's rows are sliced out of the region input again
      (`loco.slice`, not the whole split), and what was rebuilt for a chunk
      is forgotten when the backward moves to the next chunk, so that the
      backward of a region holds one chunk's activations. With
      `keep-expensive`, results of ops that cost at least 16 flops per
      element (RecomputeCostOpInterface: linear layers, convolutions,
      attention) are kept and only the cheap ops between them are rebuilt
      (norms, gates, RoPE, dropout, element-wise ops, data movement), which
      costs a few percent of the step's flops. With `keep-narrow`, only
      those contraction results are kept whose every result has at most
      twice the elements of the chunk's piece of the region input: the
      attention output with its row statistics and the projections back to
      the embedding (with a convolution's halo) are about one copy of the
      path's activations each, and save the contractions that cost the most
      per byte kept, while the wide ones (the query/key/value projection at
      3x, the SwiGLU convolution's hidden layer at 2x the FFN expansion)
      are rebuilt;
    - values between regions (the residual stream between paths) are
      checkpoints when `s = 1`; with `s > 1` only the inputs of regions
      `p, p + s, p + 2s, ...` (`p = checkpoint-phase`) are, and the others
      are rebuilt once per segment of `s` regions (the Chen et al. sqrt(n)
      scheme with segments of paths; without `keep-segment`, a rebuilt
      path input is forgotten when the backward moves to the next path,
      which rebuilds its own input from the checkpoint again: quadratic
      recomputation in the segment length, one rebuilt input alive);
      `extra-checkpoints = n` also keeps the inputs of the `n` earliest
      other regions after region 0 (spacing between s and 1, for budgets in
      between). With `keep-regions = k`, the last `k` regions (whose
      backward runs first) recompute nothing: their activations stay from
      the forward, as without recomputation, so that a budget between no
      recomputation and recomputation in every region is spent on fewer
      recomputed regions (each kept region adds about a path's activations
      and saves a path's recomputation). The
      phase picks which paths are
      recomputed twice: with two paths per block, `p = 1` keeps the inputs
      of the time paths and recomputes the frequency paths' forward again,
      `p = 0` the other way round;
    - everything before the first region and after the last (encoder,
      decoder, losses) is kept; with `rebuild-prologue` (and `s >= 1`) the
      ops before the first region (STFT, encoder convolution and norm) are
      rebuilt too, from the step's inputs;
    - with `bf16-checkpoints`, each f32 checkpointed region input (the
      residual stream, f32 under loco-autocast's policy) is kept as a bf16
      copy made in the forward pass (`loco.cast`), and the f32 original
      dies with the region's forward. The backward slices each chunk's rows
      out of the bf16 copy and widens them (`loco.cast`, marked
      `loco.recompute`), so a checkpoint costs half and nothing f32 of the
      region's size comes back. This is lossy: the backward rebuilds the
      path from inputs rounded to bf16 (relative error <= 2^-9), the same
      rounding the policy already applies to every norm output that feeds a
      bf16 contraction. The forward and the loss are unchanged.

    Random ops are rebuilt with their `#loco.rng` key, so a recomputed mask
    equals the original (counter-based RNG). `s = 0` changes nothing. The
    module's `loco.remat` dictionary records `checkpoint_every`,
    `checkpoint_phase`, `keep_expensive`, `keep_narrow`, `keep_segment`,
    `kept_regions`,
    `bf16_checkpoints`, `recomputed_ops`, `recompute_flops` and `recompute_bytes`
    (RecomputeCostOpInterface: the cost model is flops plus bytes moved),
    `step_flops` and `step_bytes` (all ops of the step, recomputation
    included), and
    `loco.remat_ops` what was recomputed by op kind (`array<i64: count,
    flops>`).

    Before (abridged; one chunk, `s = 1`):
    ```mlir
    %a = loco.split %r {loco.region = 0 : i64, sizes = array<i64: 6>} : ...
    %n = loco.rms_group_norm %a, %g {loco.chunk = array<i64: 0, 0>, ...}
    %h = loco.silu %n {loco.chunk = array<i64: 0, 0>} : tensor<6x4x8xf32>
    ...
    %dn = loco.silu_backward %n, %dh {loco.backward} : ...
    ```
    After:
    ```mlir
    %a2 = loco.slice %r {dim = 0 : i64, loco.recompute, size = 6 : i64, start = 0 : i64} : ...
    %n2 = loco.rms_group_norm %a2, %g {loco.recompute, ...}
    %dn = loco.silu_backward %n2, %dh {loco.backward} : ...
    ```
  }];
  let options = [
    Option<"checkpointEvery", "checkpoint-every", "int64_t", /*default=*/"0",
           "Regions per checkpoint segment (0: keep everything)">,
    Option<"checkpointPhase", "checkpoint-phase", "int64_t", /*default=*/"0",
           "The first checkpointed region (with checkpoint-every > 1)">,
    Option<"extraCheckpoints", "extra-checkpoints", "int64_t", /*default=*/"0",
           "Also checkpoint the inputs of this many more regions (the earliest after region 0)">,
    Option<"keepRegions", "keep-regions", "int64_t", /*default=*/"0",
           "Recompute nothing in this many regions, the last ones">,
    Option<"rebuildPrologue", "rebuild-prologue", "bool", /*default=*/"false",
           "Rebuild the ops before the first region (the encoder) instead of keeping them">,
    Option<"keepSegment", "keep-segment", "bool", /*default=*/"true",
           "Keep path inputs rebuilt for a segment until its backward ends">,
    Option<"keepExpensive", "keep-expensive", "bool", /*default=*/"false",
           "Keep the results of contractions inside chunks; rebuild only cheap ops">,
    Option<"keepNarrow", "keep-narrow", "bool", /*default=*/"false",
           "Keep the results of contractions inside chunks at most twice the size of the chunk's region input; rebuild the others">,
    Option<"bf16Checkpoints", "bf16-checkpoints", "bool", /*default=*/"false",
           "Store f32 checkpointed region inputs in bf16 (lossy: the backward rebuilds from the rounded values)">
  ];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numRecomputed", "ops-recomputed", "Forward ops cloned into the backward pass">
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

def LocoCheckTargetLimitsPass
    : Pass<"loco-check-target-limits", "::mlir::ModuleOp"> {
  let summary = "Refuse runtime calls the target backend's kernels refuse";
  let description = [{
    Checks every op's runtime call (RuntimeCallOpInterface: the kernel and
    its scalars, as `loco-lower-to-runtime` will pass them) against the
    fixed limits of the target's kernels: for `cuda`, the table of
    runtime/abi/CudaLimits.h (statistic slots of the fixed workspace,
    threads per block, grid dimensions, the attention tiles' head dim,
    the movement kernels' rank), whose checks the kernels themselves run.
    A call that exceeds one is an error on its op that names the kernel,
    the limit and the config keys that set the shape; the CPU target has
    no such limits. Runs on a planned step, before the lowering.

    Example (head dim 128, `model.attention_dim: 256, n_heads: 2`):
    ```
    error: target cuda cannot run this step: loco_flash_attention: head
    dims 128/128 are outside the attention tiles' 1..64 (set by
    model.attention_dim / model.n_heads)
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "The runtime backend whose limits apply">
  ];
  let dependentDialects = ["::mlir::loco::LocoDialect"];
  let statistics = [
    Statistic<"numChecked", "calls-checked", "Runtime calls checked">
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

    After each op, `__loco_debug_op(%ctx, index, result, bytes)` is called
    for each result; it calls the function in the exported, null-initialised
    `@loco_debug_hook` when a runner sets one (locorun --debug-nonfinite),
    and costs one load and branch otherwise. The manifest's `debug` section
    maps each entry point's op index to the op's name, module path and
    config location. The optimizer step runs `loco_adamw_check` on every
    parameter before any `loco_adamw`, so that an update that would be
    non-finite anywhere skips the whole step.

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
