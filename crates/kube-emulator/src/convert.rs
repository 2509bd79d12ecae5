//! Conversion between the two served forms of Events: objects are stored as core `v1` Events
//! and shown as `events.k8s.io/v1` Events on that group (as the API server shares their
//! storage); pure functions, must not touch the store.

use serde_json::{Map, Value};

use crate::registry::ResourceType;

/// Field pairs: (core v1 name, events.k8s.io/v1 name).
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename(obj: Value, to_events: bool) -> Value {
    let Value::Object(map) = obj else { return obj };
    let mut out = Map::new();
    for (k, v) in map {
        let renamed = EVENT_FIELDS
            .iter()
            .find(|(core, ev)| if to_events { core == &k } else { ev == &k })
            .map(|(core, ev)| if to_events { *ev } else { *core })
            .unwrap_or(k.as_str())
            .to_string();
        out.insert(renamed, v);
    }
    Value::Object(out)
}

/// Whether objects of this type are stored in another type's form.
pub fn is_events_group(rt: &ResourceType) -> bool {
    rt.group == "events.k8s.io" && rt.plural == "events"
}

/// Converts a stored (core) object to the form served for `rt`.
pub fn to_served(rt: &ResourceType, obj: Value) -> Value {
    if is_events_group(rt) {
        rename(obj, true)
    } else {
        obj
    }
}

/// Converts a request body in `rt`'s form to the stored (core) form.
pub fn to_stored(rt: &ResourceType, obj: Value) -> Value {
    if !is_events_group(rt) {
        return obj;
    }
    let mut core = rename(obj, false);
    core["apiVersion"] = Value::String("v1".into());
    if core.get("reportingInstance").is_some()
        && core.pointer("/source/host").is_none()
        && let Some(instance) = core.get("reportingInstance").cloned()
    {
        core["source"]["host"] = instance;
    }
    if core.pointer("/source/component").is_none()
        && let Some(controller) = core.get("reportingComponent").cloned()
    {
        core["source"]["component"] = controller;
    }
    core
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::Registry;

    #[test]
    fn event_forms_round_trip() {
        let reg = Registry::new();
        let rt = reg.find("events.k8s.io", "v1", "events").unwrap();
        let ev = json!({"regarding": {"name": "x"}, "note": "hi", "reason": "R", "reportingController": "c"});
        let core = to_stored(rt, ev.clone());
        assert_eq!(core["involvedObject"]["name"], "x");
        assert_eq!(core["message"], "hi");
        assert_eq!(core["source"]["component"], "c");
        let back = to_served(rt, core);
        assert_eq!(back["note"], "hi");
        assert_eq!(back["regarding"], ev["regarding"]);
    }
}
