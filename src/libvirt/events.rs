//! libvirt domain-event and connection-close callbacks, and the one libvirt call virt 0.5 does
//! not wrap (aborting a domain job). The virt crate has no safe wrapper for these, so this is
//! the one module with unsafe code; every block says why it is sound.
//! Callbacks run on the libvirt event-loop thread and only forward a small message to the
//! worker's channel: no libvirt calls happen inside them beyond reading the domain's name.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::mpsc::Sender;

use virt::connect::Connect;
use virt::sys;

/// What the worker hears from libvirt between requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// Something about this domain changed (state, definition, job, metadata): re-read it.
    DomainChanged { name: String, what: &'static str },
    /// The connection closed (daemon restart, keepalive timeout, tunnel drop).
    ConnectionClosed { reason: &'static str },
}

type Forward = Box<dyn Fn(HostEvent) + Send>;

/// Live registrations on one connection; dropped (or `deregister`ed) before the connection.
pub struct Registrations {
    conn: Connect,
    callback_ids: Vec<c_int>,
    close_registered: bool,
}

/// Subscribes to the domain events that change what the list shows, and to connection close.
/// Events are forwarded to `sender` wrapped by `wrap`.
pub fn register<T: Send + 'static>(
    conn: &Connect,
    sender: Sender<T>,
    wrap: fn(HostEvent) -> T,
) -> Registrations {
    let mut regs = Registrations {
        conn: conn.clone(),
        callback_ids: Vec::new(),
        close_registered: false,
    };
    let make = |sender: &Sender<T>| -> *mut c_void {
        let sender = sender.clone();
        let forward: Forward = Box::new(move |e| {
            let _ = sender.send(wrap(e));
        });
        // A thin pointer to the boxed closure; `free_forward` turns it back into a Box.
        Box::into_raw(Box::new(forward)) as *mut c_void
    };
    // SAFETY: each callback is cast to the generic type as libvirt's own
    // VIR_DOMAIN_EVENT_CALLBACK macro does; libvirt calls it with the signature that belongs
    // to the event id it was registered for, which is the signature each function declares.
    let callbacks: [(c_int, sys::virConnectDomainEventGenericCallback); 4] = unsafe {
        [
            (
                sys::VIR_DOMAIN_EVENT_ID_LIFECYCLE as c_int,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        c_int,
                        c_int,
                        *mut c_void,
                    ),
                    sys::virConnectDomainEventGenericCallback,
                >(on_lifecycle),
            ),
            (sys::VIR_DOMAIN_EVENT_ID_REBOOT as c_int, Some(on_reboot)),
            (
                sys::VIR_DOMAIN_EVENT_ID_JOB_COMPLETED as c_int,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        *mut c_void,
                        c_int,
                        *mut c_void,
                    ),
                    sys::virConnectDomainEventGenericCallback,
                >(on_job_completed),
            ),
            (
                sys::VIR_DOMAIN_EVENT_ID_METADATA_CHANGE as c_int,
                std::mem::transmute::<
                    unsafe extern "C" fn(
                        sys::virConnectPtr,
                        sys::virDomainPtr,
                        c_int,
                        *const c_char,
                        *mut c_void,
                    ),
                    sys::virConnectDomainEventGenericCallback,
                >(on_metadata),
            ),
        ]
    };
    for (event_id, cb) in callbacks {
        let opaque = make(&sender);
        // SAFETY: the connection pointer is valid for the lifetime of `conn`; a null domain
        // subscribes to all domains; `opaque` is owned by libvirt from here and released
        // through `free_forward` exactly once, on deregistration or connection close.
        let id = unsafe {
            sys::virConnectDomainEventRegisterAny(
                conn.as_ptr(),
                std::ptr::null_mut(),
                event_id,
                cb,
                opaque,
                Some(free_forward),
            )
        };
        if id >= 0 {
            regs.callback_ids.push(id);
        } else {
            // SAFETY: libvirt did not take ownership on failure; reclaim the box once.
            unsafe { free_forward(opaque) };
            tracing::warn!("domain event {event_id} not available on this connection");
        }
    }
    let opaque = make(&sender);
    // SAFETY: as above; the close callback keeps `opaque` until unregistered.
    let rc = unsafe {
        sys::virConnectRegisterCloseCallback(
            conn.as_ptr(),
            Some(on_close),
            opaque,
            Some(free_forward),
        )
    };
    if rc == 0 {
        regs.close_registered = true;
    } else {
        // SAFETY: not taken by libvirt; reclaim once. In-process drivers have no close event.
        unsafe { free_forward(opaque) };
    }
    regs
}

impl Drop for Registrations {
    fn drop(&mut self) {
        for id in self.callback_ids.drain(..) {
            // SAFETY: `id` came from a successful registration on this connection.
            unsafe { sys::virConnectDomainEventDeregisterAny(self.conn.as_ptr(), id) };
        }
        if self.close_registered {
            // SAFETY: the same function pointer that was registered.
            unsafe { sys::virConnectUnregisterCloseCallback(self.conn.as_ptr(), Some(on_close)) };
        }
    }
}

/// Calls the forwarder behind `opaque`.
///
/// # Safety
/// `opaque` must be a pointer made by `register` and not yet freed.
unsafe fn forward(opaque: *mut c_void, event: HostEvent) {
    let forward = &*(opaque as *const Forward);
    forward(event);
}

/// # Safety
/// `dom` must be a valid domain pointer for the duration of the call (libvirt guarantees it
/// inside callbacks).
unsafe fn domain_name(dom: sys::virDomainPtr) -> Option<String> {
    let name = sys::virDomainGetName(dom);
    if name.is_null() {
        return None;
    }
    Some(CStr::from_ptr(name).to_string_lossy().into_owned())
}

unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    event: c_int,
    _detail: c_int,
    opaque: *mut c_void,
) {
    let what = match event as c_uint {
        sys::VIR_DOMAIN_EVENT_DEFINED => "defined",
        sys::VIR_DOMAIN_EVENT_UNDEFINED => "undefined",
        sys::VIR_DOMAIN_EVENT_STARTED => "started",
        sys::VIR_DOMAIN_EVENT_SUSPENDED => "suspended",
        sys::VIR_DOMAIN_EVENT_RESUMED => "resumed",
        sys::VIR_DOMAIN_EVENT_STOPPED => "stopped",
        sys::VIR_DOMAIN_EVENT_SHUTDOWN => "shutdown",
        sys::VIR_DOMAIN_EVENT_PMSUSPENDED => "pmsuspended",
        sys::VIR_DOMAIN_EVENT_CRASHED => "crashed",
        _ => "lifecycle",
    };
    // SAFETY: libvirt passes a live domain and the opaque pointer we registered.
    if let Some(name) = domain_name(dom) {
        forward(opaque, HostEvent::DomainChanged { name, what });
    }
}

unsafe extern "C" fn on_reboot(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    opaque: *mut c_void,
) {
    // SAFETY: as in on_lifecycle.
    if let Some(name) = domain_name(dom) {
        forward(
            opaque,
            HostEvent::DomainChanged {
                name,
                what: "rebooted",
            },
        );
    }
}

unsafe extern "C" fn on_job_completed(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _params: *mut c_void,
    _nparams: c_int,
    opaque: *mut c_void,
) {
    // SAFETY: as in on_lifecycle; the params are not read.
    if let Some(name) = domain_name(dom) {
        forward(
            opaque,
            HostEvent::DomainChanged {
                name,
                what: "job completed",
            },
        );
    }
}

unsafe extern "C" fn on_metadata(
    _conn: sys::virConnectPtr,
    dom: sys::virDomainPtr,
    _kind: c_int,
    _nsuri: *const c_char,
    opaque: *mut c_void,
) {
    // SAFETY: as in on_lifecycle.
    if let Some(name) = domain_name(dom) {
        forward(
            opaque,
            HostEvent::DomainChanged {
                name,
                what: "metadata changed",
            },
        );
    }
}

unsafe extern "C" fn on_close(_conn: sys::virConnectPtr, reason: c_int, opaque: *mut c_void) {
    let reason = match reason as c_uint {
        sys::VIR_CONNECT_CLOSE_REASON_EOF => "the daemon closed the connection",
        sys::VIR_CONNECT_CLOSE_REASON_KEEPALIVE => "keepalive timed out",
        sys::VIR_CONNECT_CLOSE_REASON_CLIENT => "closed by the client",
        _ => "connection error",
    };
    // SAFETY: the opaque pointer registered with the close callback.
    forward(opaque, HostEvent::ConnectionClosed { reason });
}

unsafe extern "C" fn free_forward(opaque: *mut c_void) {
    if !opaque.is_null() {
        // SAFETY: made by Box::into_raw in `register`; libvirt calls this once per pointer.
        drop(Box::from_raw(opaque as *mut Forward));
    }
}

/// Asks libvirt to abort the domain's running job (a memory snapshot being written, a
/// migration). Not every job can be aborted: libvirt's reason comes back as the error.
pub fn abort_job(domain: &virt::domain::Domain) -> Result<(), String> {
    // SAFETY: the domain pointer is valid while `domain` is borrowed; the call takes no
    // ownership and libvirt is thread-safe for a job running on another thread.
    let rc = unsafe { sys::virDomainAbortJob(domain.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(virt::error::Error::last_error().message().to_string())
    }
}
