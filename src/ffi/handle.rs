//! Opaque C handles: the one way a Rust value lives in caller storage.
//!
//! Each C type of the API that holds state (`mqttas_client`,
//! `mqttas_radio`, `mqttas_reconnect`) is an opaque struct for which the
//! caller provides storage, with the same four calls: `mqttas_X_size()`
//! bytes aligned to `mqttas_X_align()`, `mqttas_X_init(x, storage_len,
//! ...)` and `mqttas_X_deinit(x)`. The storage holds a [`Slot`]: a magic
//! number, distinct for each type, that says a live value is there
//! (catching calls before init, after deinit, and storage of one type
//! passed as another), and the value. As rustls-ffi's `Castable` ties each
//! C type to its Rust type, [`Handle`] does here; everything that turns a
//! C pointer into the value goes through this file.
//!
//! The value is written in place into storage zeroed first, never built
//! elsewhere and copied: what the value leaves unwritten (padding, the
//! free room of fixed-capacity arrays, the payload of an empty `Option`)
//! stays zero. A conservative garbage collector that scans the storage
//! (MicroPython's, where the C module keeps it on the GC heap) then finds
//! no stale pointer there.

use core::mem::{align_of, offset_of, size_of, MaybeUninit};
use core::ptr;

use super::mqttas_result::{self, *};
use super::result::code;

/// A C type whose storage holds a Rust value.
pub(crate) trait Handle {
    /// The value the storage holds.
    type Target;
    /// Marks storage that holds a live `Target`: distinct for each type.
    const MAGIC: u32;
}

/// What the caller's storage holds.
#[repr(C)]
pub(crate) struct Slot<T> {
    magic: u32,
    value: T,
}

impl<T> Slot<T> {
    /// The place of the magic number in the slot at `s` (computed, not
    /// read: safe for any pointer).
    fn magic(s: *mut Slot<T>) -> *mut u32 {
        s.cast::<u8>()
            .wrapping_add(offset_of!(Slot<T>, magic))
            .cast()
    }

    /// The place of the value in the slot at `s`.
    fn value(s: *mut Slot<T>) -> *mut T {
        s.cast::<u8>()
            .wrapping_add(offset_of!(Slot<T>, value))
            .cast()
    }
}

/// Bytes of storage `H` needs: `mqttas_X_size()`.
pub(crate) const fn size<H: Handle>() -> usize {
    size_of::<Slot<H::Target>>()
}

/// Alignment the storage of `H` needs: `mqttas_X_align()`.
pub(crate) const fn align<H: Handle>() -> usize {
    align_of::<Slot<H::Target>>()
}

/// Storage a caller gives to `mqttas_X_init`, checked: not NULL, aligned,
/// at least [`size`] bytes. Returns the region it takes, as (address,
/// length), for the checks that the buffers lent with it do not overlap it.
pub(crate) fn storage<H: Handle>(h: *mut H, len: usize) -> Result<(usize, usize), mqttas_result> {
    if h.is_null() {
        return Err(MQTTAS_ERR_NULL_POINTER);
    }
    if h as usize % align::<H>() != 0 {
        return Err(MQTTAS_ERR_MISALIGNED);
    }
    if len < size::<H>() {
        return Err(MQTTAS_ERR_BUFFER_TOO_SMALL);
    }
    Ok((h as usize, size::<H>()))
}

/// Create the value of `h` in place: check the storage ([`storage`]),
/// zero it, and let `make` write the value into it (`make` receives the
/// region the storage takes, for overlap checks). Nothing is built on the
/// stack and copied over: what `make` does not write stays zero. On error
/// the storage holds no value (it reads as not initialised).
///
/// # Safety
/// `h` is NULL or points to `len` writable bytes that nothing else uses
/// during the call.
pub(crate) unsafe fn init<H: Handle>(
    h: *mut H,
    len: usize,
    make: impl FnOnce((usize, usize), &mut MaybeUninit<H::Target>) -> Result<(), mqttas_result>,
) -> mqttas_result {
    let region = match storage(h, len) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let s = h.cast::<Slot<H::Target>>();
    // SAFETY: `storage` checked that `s` is non-NULL and aligned, and the
    // caller promised `len` >= size_of::<Slot> writable bytes.
    unsafe { ptr::write_bytes(s, 0, 1) };
    // SAFETY: in that storage, aligned, zeroed just now (a valid
    // `MaybeUninit` of anything), used by nothing else during the call.
    let value = unsafe { &mut *Slot::value(s).cast::<MaybeUninit<H::Target>>() };
    let r = make(region, value);
    if r.is_ok() {
        // SAFETY: in that storage, aligned; `make` returned Ok, so it
        // wrote the value, which the magic number now says.
        unsafe { Slot::magic(s).write_volatile(H::MAGIC) };
    }
    code(r)
}

/// The live value in `h`.
///
/// # Safety
/// Unless NULL or misaligned, `h` points to storage given to
/// `mqttas_X_init` (at least the magic number's 4 bytes readable) that
/// nothing else uses during `'a`.
pub(crate) unsafe fn get<'a, H: Handle>(h: *const H) -> Result<&'a mut H::Target, mqttas_result> {
    if h.is_null() {
        return Err(MQTTAS_ERR_NULL_POINTER);
    }
    if h as usize % align::<H>() != 0 {
        return Err(MQTTAS_ERR_MISALIGNED);
    }
    let s = h.cast::<Slot<H::Target>>().cast_mut();
    // SAFETY: non-NULL, aligned, and by the caller's promise readable for
    // the magic number; any bit pattern is a valid `u32`.
    if unsafe { Slot::magic(s).read_volatile() } != H::MAGIC {
        return Err(MQTTAS_ERR_NOT_INITIALIZED);
    }
    // SAFETY: the magic number is written only once a value is (`init`)
    // and cleared when it is dropped (`deinit`), so a live value is here;
    // the caller does not use it elsewhere meanwhile.
    Ok(unsafe { &mut *Slot::value(s) })
}

/// Run `f` on the live value in `h` and return its result code.
///
/// # Safety
/// As for [`get`].
pub(crate) unsafe fn with<H: Handle>(
    h: *const H,
    f: impl FnOnce(&mut H::Target) -> Result<(), mqttas_result>,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    code(unsafe { get(h) }.and_then(f))
}

/// End the value in `h`: drop it and clear the magic number, so that
/// later calls report `MQTTAS_ERR_NOT_INITIALIZED`.
///
/// # Safety
/// As for [`get`].
pub(crate) unsafe fn deinit<H: Handle>(h: *mut H) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    let value: *mut H::Target = match unsafe { get(h) } {
        Ok(v) => v,
        Err(e) => return e,
    };
    // SAFETY: `get` found a live value; it is not used again.
    unsafe { ptr::drop_in_place(value) };
    // SAFETY: the storage `get` checked: non-NULL, aligned, writable.
    unsafe { Slot::magic(h.cast::<Slot<H::Target>>()).write_volatile(0) };
    MQTTAS_OK
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;

    struct Thing {
        _opaque: [u8; 0],
    }
    impl Handle for Thing {
        type Target = (u64, u8);
        const MAGIC: u32 = 0x7465_7374;
    }

    #[repr(C, align(16))]
    struct Storage([u8; 64]);

    #[test]
    fn storage_is_checked_zeroed_and_marked() {
        let mut st = Storage([0xAA; 64]);
        let h = st.0.as_mut_ptr().cast::<Thing>();
        // SAFETY: valid, aligned or deliberately misaligned pointers
        // into `st`, or NULL.
        unsafe {
            assert_eq!(get(h).err(), Some(MQTTAS_ERR_NOT_INITIALIZED));
            assert_eq!(init(h, 0, |_, _| Ok(())), MQTTAS_ERR_BUFFER_TOO_SMALL);
            assert_eq!(
                init(h.cast::<u8>().add(1).cast::<Thing>(), 63, |_, _| Ok(())),
                MQTTAS_ERR_MISALIGNED
            );
            assert_eq!(
                init(ptr::null_mut::<Thing>(), 64, |_, _| Ok(())),
                MQTTAS_ERR_NULL_POINTER
            );
            // A refusal leaves zeroed storage, not a value.
            assert_eq!(
                init(h, 64, |_, _| Err(MQTTAS_ERR_INVALID_CONFIG)),
                MQTTAS_ERR_INVALID_CONFIG
            );
            assert!(st.0[..size::<Thing>()].iter().all(|&b| b == 0));
            let h = st.0.as_mut_ptr().cast::<Thing>();
            assert_eq!(get(h).err(), Some(MQTTAS_ERR_NOT_INITIALIZED));
            // Only the u8 is written: the rest stays zero, padding included.
            let r = init(h, 64, |region, v| {
                assert_eq!(region, (h as usize, size::<Thing>()));
                let p = v.as_mut_ptr();
                core::ptr::addr_of_mut!((*p).1).write(9);
                Ok(())
            });
            assert_eq!(r, MQTTAS_OK);
            let value = offset_of!(Slot<(u64, u8)>, value);
            let stored = &st.0[value..size::<Thing>()];
            assert_eq!(stored.iter().filter(|&&b| b != 0).count(), 1);
            assert_eq!(get(h).map(|v| *v), Ok((0, 9)));
            let bump = |v: &mut (u64, u8)| {
                v.1 += 1;
                Ok(())
            };
            assert_eq!(with(h, bump), MQTTAS_OK);
            assert_eq!(get(h).map(|v| v.1), Ok(10));
            assert_eq!(deinit(h), MQTTAS_OK);
            assert_eq!(get(h).err(), Some(MQTTAS_ERR_NOT_INITIALIZED));
            assert_eq!(deinit(h), MQTTAS_ERR_NOT_INITIALIZED);
            assert_eq!(deinit(ptr::null_mut::<Thing>()), MQTTAS_ERR_NULL_POINTER);
        }
    }
}
