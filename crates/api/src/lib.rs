//! Generated protobuf types and gRPC stubs for every supplyrisk API, the
//! descriptor set for reflection, and the conversions between wire messages
//! and domain records. Generated code lives here and nowhere else.
#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// `supplyrisk.common.v1`
pub mod common {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/supplyrisk.common.v1.rs"));
    }
}

/// `supplyrisk.events.v1`
pub mod events {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/supplyrisk.events.v1.rs"));
    }
}

/// `supplyrisk.ingest.v1`
pub mod ingest {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/supplyrisk.ingest.v1.rs"));
    }
}

/// `supplyrisk.scoring.v1`
pub mod scoring {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/supplyrisk.scoring.v1.rs"));

        /// The `ScoringService` server that answers `GetRiskScore` with
        /// pre-encoded bytes ([`crate::encoded::PreEncoded`]); the service
        /// implements this one. Clients use `scoring_service_client`.
        pub mod preencoded {
            include!(concat!(env!("OUT_DIR"), "/supplyrisk.scoring.v1.ScoringService.rs"));
        }
    }
}

/// `supplyrisk.alerting.v1`
pub mod alerting {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/supplyrisk.alerting.v1.rs"));
    }
}

/// `supplyrisk.admin.v1`
pub mod admin {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/supplyrisk.admin.v1.rs"));
    }
}

pub mod convert;
pub mod encoded;

/// Encoded `FileDescriptorSet` of every supplyrisk proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/supplyrisk_descriptor.bin"));
