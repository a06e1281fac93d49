"""Softmax attention restricted to valid keys, in memory linear in the number of positions.

The partial non-local block of the reference takes a softmax over all N keys, multiplies it by the
key validity (0 at holes) and L1-renormalises each row (eps 1e-12). That is a softmax over the
valid keys only, with all-zero rows when a query has no valid key. (It differs only if the valid
keys hold less than 1e-12 of the softmax mass, where the reference's eps takes over.)

`masked_attention_reference` builds the N x N matrix like the reference (tests, tiny inputs).
`masked_attention` never does: queries are processed in blocks, and for each query block the keys
are streamed in blocks with a running max and a running sum (the flash-attention recurrence). Its
gradient recomputes the attention blockwise from the saved log-sum-exp, so the backward pass is
linear in N too. `masked_attention_at_queries` (inference) computes only the queries asked for.

Shapes: q, k (B, N, C), v (B, N, Cv), key_valid and query_active (B, N) bool. Logits are q . k
with no scaling: fold any temperature into q. Inputs may be bfloat16; products are accumulated in
float32 (or in the input dtype if that is wider, e.g. float64 for the fidelity tests).
"""

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

# Tuned on the 2-core AVX-512 CPU at N = 16,384 and 65,536, C = 512: the kernel is matmul-bound,
# and block pairs from 512 x 1024 to 1024 x 4096 were within 10% (CPU time); 1024 x 1024 was best.
DEFAULT_BLOCK_Q = 1024
DEFAULT_BLOCK_K = 1024


def masked_attention_weights(q, k, key_valid):
    """The reference's (B, N, N) attention: softmax over all keys, hole keys zeroed, rows
    L1-renormalised (eps 1e-12)."""
    probs = jax.nn.softmax(jnp.einsum("bqc,bkc->bqk", q, k), axis=-1)
    probs = probs * key_valid[:, None, :].astype(probs.dtype)
    return probs / jnp.maximum(jnp.sum(jnp.abs(probs), axis=-1, keepdims=True), 1e-12)


def masked_attention_reference(q, k, v, key_valid):
    """Dense O(N^2)-memory masked attention, computed as the reference does."""
    return jnp.einsum("bqk,bkc->bqc", masked_attention_weights(q, k, key_valid), v)


def masked_attention(q, k, v, key_valid, *, block_q=DEFAULT_BLOCK_Q, block_k=DEFAULT_BLOCK_K):
    """Blockwise masked attention with a blockwise custom gradient; equals the reference."""
    n = q.shape[1]
    return _masked_attention(q, k, v, key_valid.astype(bool), min(block_q, n), min(block_k, n))


def masked_attention_at_queries(
    q, k, v, key_valid, query_active, *, block_q=DEFAULT_BLOCK_Q, block_k=DEFAULT_BLOCK_K
):
    """Inference only: the rows of `masked_attention` for active queries, 0 for the others.

    Active queries are moved to the front (stable sort) and only the ceil(#active / block_q)
    query blocks that hold them are computed (a loop with a data-dependent trip count), so the
    time is proportional to the number of active queries. Not differentiable (reverse mode).
    """
    n = q.shape[1]
    block_q, block_k = min(block_q, n), min(block_k, n)

    def one_example(args):
        q, k, v, valid, active = args
        order = jnp.argsort(~active, stable=True)
        q_blocks = _to_blocks(q[order], block_q)
        keys = _key_blocks(k, v, valid, block_k)
        num_blocks = (jnp.sum(active) + block_q - 1) // block_q

        def compute_block(i, out_blocks):
            out, _ = _query_block_forward(q_blocks[i], *keys)
            return out_blocks.at[i].set(out.astype(out_blocks.dtype))

        out_blocks = jnp.zeros(q_blocks.shape[:2] + v.shape[-1:], v.dtype)
        out_blocks = lax.fori_loop(0, num_blocks, compute_block, out_blocks)
        out_sorted = out_blocks.reshape(-1, v.shape[-1])[:n]
        out = jnp.zeros_like(out_sorted).at[order].set(out_sorted)
        return jnp.where(active[:, None], out, 0)

    return lax.map(one_example, (q, k, v, key_valid.astype(bool), query_active.astype(bool)))


def _accumulation_dtype(dtype):
    return jnp.promote_types(dtype, jnp.float32)


def _to_blocks(x, block, fill=0):
    """(N, ...) -> (ceil(N / block), block, ...), padding the end with `fill`."""
    pad = -x.shape[0] % block
    x = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1), constant_values=fill)
    return x.reshape(-1, block, *x.shape[1:])


def _key_blocks(k, v, valid, block_k):
    """Keys, values and validity in blocks; padded keys are invalid."""
    return _to_blocks(k, block_k), _to_blocks(v, block_k), _to_blocks(valid, block_k, fill=False)


def _query_block_forward(q_block, k_blocks, v_blocks, valid_blocks):
    """Online softmax over the valid keys for one query block -> (output, log-sum-exp).

    Rows without any valid key get output 0 and log-sum-exp +inf (so that the backward pass
    assigns them zero probabilities).
    """
    acc_dtype = _accumulation_dtype(q_block.dtype)

    def add_key_block(carry, key_block):
        running_max, running_sum, acc = carry
        k_block, v_block, valid_block = key_block
        logits = jnp.einsum("qc,kc->qk", q_block, k_block, preferred_element_type=acc_dtype)
        logits = jnp.where(valid_block, logits, -jnp.inf)
        # running_max starts at the most negative finite number, so exp(-inf - max) is 0 even
        # while every key seen so far is a hole, and the rescale factor never is inf - inf.
        new_max = jnp.maximum(running_max, jnp.max(logits, axis=-1))
        probs = jnp.exp(logits - new_max[:, None])
        rescale = jnp.exp(running_max - new_max)
        running_sum = running_sum * rescale + jnp.sum(probs, axis=-1)
        acc = acc * rescale[:, None] + jnp.einsum(
            "qk,kc->qc", probs.astype(v_block.dtype), v_block, preferred_element_type=acc_dtype
        )
        return (new_max, running_sum, acc), None

    num_q = q_block.shape[0]
    init = (
        jnp.full((num_q,), jnp.finfo(acc_dtype).min, acc_dtype),
        jnp.zeros((num_q,), acc_dtype),
        jnp.zeros((num_q, v_blocks.shape[-1]), acc_dtype),
    )
    (row_max, row_sum, acc), _ = lax.scan(add_key_block, init, (k_blocks, v_blocks, valid_blocks))
    has_key = row_sum > 0
    out = jnp.where(has_key[:, None], acc / jnp.where(has_key, row_sum, 1)[:, None], 0)
    lse = jnp.where(has_key, row_max + jnp.log(jnp.where(has_key, row_sum, 1)), jnp.inf)
    return out, lse


def _forward_one(q, k, v, valid, block_q, block_k):
    """One example: (N, Cv) output in v's dtype and the (N,) log-sum-exp."""
    n = q.shape[0]
    keys = _key_blocks(k, v, valid, block_k)
    out, lse = lax.map(lambda q_block: _query_block_forward(q_block, *keys), _to_blocks(q, block_q))
    return out.reshape(-1, v.shape[-1])[:n].astype(v.dtype), lse.reshape(-1)[:n]


def _backward_one(q, k, v, valid, out, lse, d_out, block_q, block_k):
    """Flash-attention backward for one example: key blocks outside, query blocks inside."""
    n = q.shape[0]
    acc_dtype = _accumulation_dtype(q.dtype)
    d_out = d_out.astype(acc_dtype)
    # Softmax Jacobian term: D_i = sum_c dO_ic O_ic = sum_j P_ij dP_ij.
    delta = jnp.sum(d_out * out.astype(acc_dtype), axis=-1)
    queries = (
        _to_blocks(q, block_q),
        _to_blocks(d_out, block_q),
        _to_blocks(lse, block_q, fill=jnp.inf),  # padded query rows: zero probabilities
        _to_blocks(delta, block_q),
    )

    def add_key_block(d_q, key_block):
        k_block, v_block, valid_block = key_block

        def add_query_block(carry, query_block):
            d_k, d_v = carry
            q_block, d_out_block, lse_block, delta_block = query_block
            logits = jnp.einsum("qc,kc->qk", q_block, k_block, preferred_element_type=acc_dtype)
            probs = jnp.exp(jnp.where(valid_block, logits - lse_block[:, None], -jnp.inf))
            d_v = d_v + jnp.einsum("qk,qc->kc", probs, d_out_block)
            d_probs = jnp.einsum(
                "qc,kc->qk", d_out_block, v_block, preferred_element_type=acc_dtype
            )
            d_logits = probs * (d_probs - delta_block[:, None])
            d_k = d_k + jnp.einsum("qk,qc->kc", d_logits, q_block, preferred_element_type=acc_dtype)
            d_q_block = jnp.einsum("qk,kc->qc", d_logits, k_block, preferred_element_type=acc_dtype)
            return (d_k, d_v), d_q_block

        init = (
            jnp.zeros(k_block.shape, acc_dtype),
            jnp.zeros(v_block.shape, acc_dtype),
        )
        (d_k, d_v), d_q_blocks = lax.scan(add_query_block, init, queries)
        return d_q + d_q_blocks, (d_k, d_v)

    d_q = jnp.zeros(queries[0].shape, acc_dtype)
    d_q, (d_k, d_v) = lax.scan(add_key_block, d_q, _key_blocks(k, v, valid, block_k))

    def unblock(x, like):
        return x.reshape(-1, x.shape[-1])[:n].astype(like.dtype)

    return unblock(d_q, q), unblock(d_k, k), unblock(d_v, v)


@partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _masked_attention(q, k, v, key_valid, block_q, block_k):
    out, _ = _masked_attention_fwd(q, k, v, key_valid, block_q, block_k)
    return out


def _masked_attention_fwd(q, k, v, key_valid, block_q, block_k):
    # lax.map, not vmap, over the batch: a batched scan would transpose (copy) k, v and the output.
    out, lse = lax.map(lambda args: _forward_one(*args, block_q, block_k), (q, k, v, key_valid))
    return out, (q, k, v, key_valid, out, lse)


def _masked_attention_bwd(block_q, block_k, residuals, d_out):
    d_q, d_k, d_v = lax.map(
        lambda args: _backward_one(*args, block_q, block_k), (*residuals, d_out)
    )
    return d_q, d_k, d_v, None


_masked_attention.defvjp(_masked_attention_fwd, _masked_attention_bwd)
