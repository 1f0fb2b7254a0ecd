//! One page of an object, exactly as CVDW serves it: the paging parameters read (and their
//! 400s), the rows of the date range at the page's offset, the envelope (with its quirks and
//! any listing fault), then the rows.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use shared::catalogue::ObjectSpec;

use super::parameters::{param, JsonBody, Query};
use super::responses::{date_error, json_response, PAGINA_NOT_INT_BODY, REGISTROS_NOT_INT_BODY};
use crate::listing_faults::Shown;
use crate::world::{obj_index, to_sim_time, SimTime};
use crate::Simulator;

/// Rows per page when the request says none (or a count below one).
const DEFAULT_PAGE_SIZE: u64 = 30;
/// The most rows a page holds.
const MAX_PAGE_SIZE: u64 = 500;

/// What a request asks of a listing.
struct PageRequest {
    /// From 1.
    pagina: u64,
    /// `pagina` as sent, echoed back as a string on the `pagina_string` endpoints.
    pagina_raw: Option<String>,
    size: u64,
    /// `a_partir_data_referencia` and `ate_data_referencia`.
    bounds: [Option<SimTime>; 2],
}

/// Read the paging parameters. `pagina` ≤ 0 is page 1; `registros_por_pagina` ≤ 0 is the
/// default, past the maximum the maximum; a non-integer or a bad date is a 400.
fn page_request(query: &Query, body: &JsonBody) -> Result<PageRequest, Box<Response>> {
    let bad_request = |body: &'static str| Box::new(json_response(StatusCode::BAD_REQUEST, body));
    let pagina_raw = param(query, body, "pagina");
    let pagina = match pagina_raw.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(text) => match text.parse::<u64>() {
            Ok(number) => number.max(1),
            Err(_) => return Err(bad_request(PAGINA_NOT_INT_BODY)),
        },
    };
    let registros = param(query, body, "registros_por_pagina");
    let size = match registros.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<i64>() {
            Ok(number) if number >= 1 => (number as u64).min(MAX_PAGE_SIZE),
            Ok(_) => DEFAULT_PAGE_SIZE,
            Err(_) => return Err(bad_request(REGISTROS_NOT_INT_BODY)),
        },
    };
    let mut bounds: [Option<SimTime>; 2] = [None, None];
    for (bound, name) in bounds
        .iter_mut()
        .zip(["a_partir_data_referencia", "ate_data_referencia"])
    {
        if let Some(value) = param(query, body, name) {
            match shared::values::parse_filter_datetime(&value) {
                Some(datetime) => *bound = Some(to_sim_time(&datetime)),
                None => return Err(Box::new(date_error(name))),
            }
        }
    }
    Ok(PageRequest {
        pagina,
        pagina_raw,
        size,
        bounds,
    })
}

impl Simulator {
    /// The exact body the API serves for `pagina`/`registros_por_pagina` of an object (no
    /// faults, no rate limit, not counted in the stats). `None` for an unknown path.
    pub fn render_page(
        &self,
        object_path: &str,
        pagina: u64,
        registros_por_pagina: u64,
    ) -> Option<Vec<u8>> {
        let spec = shared::catalogue::find(object_path)?;
        let query = HashMap::from([
            ("pagina".to_string(), pagina.to_string()),
            (
                "registros_por_pagina".to_string(),
                registros_por_pagina.to_string(),
            ),
        ]);
        self.page(spec, &query, &None).ok()
    }

    /// Build the page body for a request (no faults). Errors are complete responses.
    pub(super) fn page(
        &self,
        spec: &'static ObjectSpec,
        query: &Query,
        body: &JsonBody,
    ) -> Result<Vec<u8>, Box<Response>> {
        let request = page_request(query, body)?;
        let world = self.read_world();
        let quirks = world.quirks;
        let object = obj_index(spec.path);
        let table = &world.tables[object];
        let range = table.range(request.bounds[0], request.bounds[1]);
        let total = range.len() as u64;
        let size = request.size;
        let offset = (request.pagina - 1).saturating_mul(size);
        let start = range.start + (offset.min(total) as usize);
        let mut end = range.start + (offset.saturating_add(size).min(total) as usize);
        // §3.1: `/demandas` once answered zero totals with its rows present.
        let zero_total =
            quirks.zero_total && spec.path == "/demandas" && total > 0 && total <= size;
        let mut shown = if zero_total {
            Shown::truth(0, 0)
        } else {
            Shown::truth(total, total.div_ceil(size))
        };
        if request.bounds == [None, None] {
            shown = self.listing_shown(spec.path, request.pagina, shown);
            if shown.empty {
                end = start;
            }
        }
        let mut out = Vec::with_capacity(64 + (end - start) * 1200);
        out.extend_from_slice(b"{\"pagina\":");
        if quirks.pagina_string && spec.pagina_string {
            let echoed = request.pagina_raw.unwrap_or_else(|| "1".into());
            let _ = serde_json::to_writer(&mut out, &echoed);
        } else {
            out.extend_from_slice(request.pagina.to_string().as_bytes());
        }
        out.extend_from_slice(format!(",\"registros\":{size}").as_bytes());
        let (total, pages) = (shown.total, shown.pages);
        let totals = if quirks.unstable_key_order && spec.name.len() % 2 == 1 {
            format!(",\"total_de_paginas\":{pages},\"total_de_registros\":{total}")
        } else {
            format!(",\"total_de_registros\":{total},\"total_de_paginas\":{pages}")
        };
        out.extend_from_slice(totals.as_bytes());
        out.extend_from_slice(b",\"dados\":[");
        for (nth, &(_, pos)) in table.index[start..end].iter().enumerate() {
            if nth > 0 {
                out.push(b',');
            }
            crate::render::write_row(&world, object, pos, &mut out);
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}
