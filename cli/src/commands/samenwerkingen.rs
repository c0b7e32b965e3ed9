//! `kompas samenwerkingen`: the samenwerkingen of the data directory, each with this
//! organisation's role, its relays and how many documents it holds.

use crate::args::Global;
use crate::output::emit;
use crate::partnerships;

pub fn run(global: &Global) -> anyhow::Result<()> {
    let data = crate::context::lock(&global.data)?;
    let all = partnerships::list(&data)?;
    emit(
        global.json,
        &serde_json::json!({ "samenwerkingen": all }),
        |_| {
            let mut out = String::from("Samenwerkingen in deze kompas-map:");
            for p in &all {
                out.push_str(&format!("\n  {}", p.label()));
                if let Some(id) = &p.id {
                    out.push_str(&format!(" ({id})"));
                }
                if let Some(role) = &p.role {
                    out.push_str(&format!(", rol: {role}"));
                }
                out.push_str(&format!(", {} document(en)", p.documents));
                if !p.relays.is_empty() {
                    out.push_str(&format!("\n    relays: {}", p.relays.join(", ")));
                }
            }
            if all.len() > 1 {
                out.push_str(
                    "\nKies er een met --samenwerking NAAM (of KOMPAS_SAMENWERKING=NAAM).",
                );
            }
            out
        },
    )
}
