//! Turning C arguments (pointer + length) into Rust slices, checking NULL,
//! lengths and UTF-8 on the way in.

use core::ffi::c_char;
use core::mem::size_of;
use core::ptr::NonNull;
use core::slice;

use super::mqttas_result::{self, *};

/// `len` elements of `T` at `ptr`. NULL is an empty slice when `len` is 0
/// and an error otherwise.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` readable, initialised `T` that stay
/// unchanged for `'a`.
pub(crate) unsafe fn array<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], mqttas_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(MQTTAS_ERR_NULL_POINTER);
    }
    // slice::from_raw_parts requires the total size to fit in isize.
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(MQTTAS_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length checked, validity guaranteed by the caller.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// Like [`array`], mutable.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` writable bytes used by nothing else
/// for `'a`.
pub(crate) unsafe fn bytes_mut<'a>(
    ptr: *mut u8,
    len: usize,
) -> Result<&'a mut [u8], mqttas_result> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(MQTTAS_ERR_NULL_POINTER);
    }
    if len > isize::MAX as usize {
        return Err(MQTTAS_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length checked, exclusivity guaranteed by the caller.
    Ok(unsafe { slice::from_raw_parts_mut(ptr, len) })
}

/// `len` packet ids at `ptr`, which must be aligned for `u16`.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` writable, initialised `u16` used by
/// nothing else for `'a`.
pub(crate) unsafe fn ids_mut<'a>(
    ptr: *mut u16,
    len: usize,
) -> Result<&'a mut [u16], mqttas_result> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(MQTTAS_ERR_NULL_POINTER);
    }
    if ptr as usize % core::mem::align_of::<u16>() != 0 {
        return Err(MQTTAS_ERR_MISALIGNED);
    }
    if len > isize::MAX as usize / size_of::<u16>() {
        return Err(MQTTAS_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, aligned, length checked, exclusivity guaranteed by
    // the caller.
    Ok(unsafe { slice::from_raw_parts_mut(ptr, len) })
}

/// A UTF-8 string of `len` bytes at `ptr` (not NUL-terminated).
///
/// # Safety
/// As for [`array`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, mqttas_result> {
    // SAFETY: forwarded from the caller.
    let b = unsafe { array(ptr.cast::<u8>(), len) }?;
    crate::wire::utf8(b, true).ok_or(MQTTAS_ERR_INVALID_UTF8)
}

/// An optional string: NULL is `None` (then `len` must be 0).
///
/// # Safety
/// As for [`array`].
pub(crate) unsafe fn opt_text<'a>(
    ptr: *const c_char,
    len: usize,
) -> Result<Option<&'a str>, mqttas_result> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(None)
        } else {
            Err(MQTTAS_ERR_NULL_POINTER)
        };
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(ptr, len) }.map(Some)
}

/// An optional byte string: NULL is `None` (then `len` must be 0).
///
/// # Safety
/// As for [`array`].
pub(crate) unsafe fn opt_bytes<'a>(
    ptr: *const u8,
    len: usize,
) -> Result<Option<&'a [u8]>, mqttas_result> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(None)
        } else {
            Err(MQTTAS_ERR_NULL_POINTER)
        };
    }
    // SAFETY: forwarded from the caller.
    unsafe { array(ptr, len) }.map(Some)
}

/// A checked, non-NULL output pointer, written once with [`Out::put`].
///
/// Writing through the raw pointer (never a `&mut`) keeps uninitialised
/// caller memory sound, whatever the type's validity rules.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Store the value, overwriting whatever was there without reading it.
    pub(crate) fn put(self, value: T) {
        // SAFETY: `out` promised a writable, aligned `T` at this address.
        unsafe { self.0.as_ptr().write(value) }
    }

    /// Store `value` and lend it to be changed in place (a large struct is
    /// then filled where it lies rather than built and copied).
    ///
    /// # Safety
    /// `'a` must not outlive the call that received the pointer.
    pub(crate) unsafe fn put_mut<'a>(self, value: T) -> &'a mut T {
        let p = self.0;
        self.put(value);
        // SAFETY: written just above, so initialised; writable, aligned
        // and unshared for the call, as `out` promised.
        unsafe { &mut *p.as_ptr() }
    }
}

/// A required output: NULL is an error.
///
/// # Safety
/// Unless NULL, `ptr` points to writable, aligned memory for a `T` that
/// nothing else uses during the call.
pub(crate) unsafe fn out<T>(ptr: *mut T) -> Result<Out<T>, mqttas_result> {
    NonNull::new(ptr).map(Out).ok_or(MQTTAS_ERR_NULL_POINTER)
}

/// An optional output: NULL means the caller does not want the value.
///
/// # Safety
/// As for [`out`].
pub(crate) unsafe fn opt_out<T>(ptr: *mut T) -> Option<Out<T>> {
    NonNull::new(ptr).map(Out)
}

/// Two regions overlap (empty ones never do).
fn overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.1 != 0 && b.1 != 0 && a.0 < b.0.saturating_add(b.1) && b.0 < a.0.saturating_add(a.1)
}

/// `MQTTAS_ERR_BUFFERS_OVERLAP` unless the (address, length) regions are
/// pairwise disjoint: the storage and the buffers lent to a client or a
/// radio. One copy for every init function.
pub(crate) fn disjoint(regions: &[(usize, usize)]) -> Result<(), mqttas_result> {
    for (i, a) in regions.iter().enumerate() {
        if regions.iter().skip(i + 1).any(|b| overlap(*a, *b)) {
            return Err(MQTTAS_ERR_BUFFERS_OVERLAP);
        }
    }
    Ok(())
}

/// Zero the buffers C lends (fresh `malloc` memory may be uninitialised,
/// and a Rust `&mut [u8]` must hold initialised bytes): NULL with a
/// nonzero length is an error, as is a length over `isize::MAX`.
///
/// # Safety
/// Each non-NULL pointer points to its length of writable bytes.
pub(crate) unsafe fn zero(buffers: &[(*mut u8, usize)]) -> Result<(), mqttas_result> {
    for &(p, n) in buffers {
        if n == 0 {
            continue;
        }
        if p.is_null() {
            return Err(MQTTAS_ERR_NULL_POINTER);
        }
        if n > isize::MAX as usize {
            return Err(MQTTAS_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: `n` writable bytes at `p`, promised by the caller.
        unsafe { core::ptr::write_bytes(p, 0, n) };
    }
    Ok(())
}

/// A QoS from C: 0, 1 or 2.
pub(crate) fn qos(v: u8) -> Result<crate::wire::QoS, mqttas_result> {
    crate::wire::QoS::from_u8(v).ok_or(MQTTAS_ERR_INVALID_ARGUMENT)
}
