//! The `cvdw` command's subcommands, as a library so the integration tests can drive them.
//! Domain logic stays in `shared`; this crate wires it to flags, progress output and local
//! stand-ins (the simulator, an in-process S3 server).

pub mod bench;
pub mod demo;
pub mod extract;
pub mod load;
pub mod metas;
pub mod pg_local;
pub mod progress;
pub mod serve;
pub mod simulate;
