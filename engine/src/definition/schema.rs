//! The JSON Schema of the workflow file format, for editors that autocomplete YAML.

use super::raw::RawDefinition;

/// The JSON Schema (draft 2020-12) describing a workflow file.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(RawDefinition);
    serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_names_the_top_level_keys_and_requires_phases() {
        let s = super::json_schema();
        let props = s["properties"].as_object().unwrap();
        for key in [
            "naam",
            "versie",
            "soorten",
            "fasen",
            "planning",
            "conflicten",
        ] {
            assert!(props.contains_key(key), "{key} missing");
        }
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(required.contains(&"fasen"), "{required:?}");
        assert!(s.to_string().contains("lange-tekst"));
    }
}
