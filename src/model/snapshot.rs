//! Snapshot XML: parsing libvirt's `<domainsnapshot>` and writing create requests.
