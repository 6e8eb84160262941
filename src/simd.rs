//! Run-time detection of the instruction sets the hand-picked fast paths are
//! compiled for.
//!
//! Three kernels have a second copy compiled with
//! `#[target_feature(enable = "avx2,fma")]`: the small fused products of the
//! dense layers (`train::dense`), the vectorised activation programs
//! (`activation::formula::compile`) and the optimizer update
//! (`train::optim`). Each may call its copy only after checking that the
//! processor has both features; the check lives here, once, so the three
//! cannot drift apart (say one asking for AVX2 alone while its copy also
//! uses FMA instructions, which would be undefined behaviour on a processor
//! with AVX2 but no FMA).

/// Whether this processor has AVX2 and FMA, so a function compiled with
/// `#[target_feature(enable = "avx2,fma")]` may be called. Checked once,
/// then cached by std.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}
