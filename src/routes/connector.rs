//! `/_connector/...`: the connector APIs, one declaration each.

use super::Api;

pub const APIS: &[Api] = &[];
