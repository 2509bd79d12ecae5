//! In-memory object storage: one monotonic resourceVersion counter, bounded event history and
//! a broadcast channel for watchers; must not know about HTTP.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
use crate::registry::{Registry, ResourceType};

/// Storage key of one resource: `(group, plural)`.
pub type StorageKey = (String, String);

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

/// One stored change, kept in history and broadcast to watchers.
#[derive(Debug)]
pub struct StoredEvent {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Which resource.
    pub key: StorageKey,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (or as deleted).
    pub object: Value,
    /// The object before the change (for selector transitions).
    pub previous: Option<Value>,
}

/// The whole mutable state of the emulator.
#[derive(Debug)]
pub struct Store {
    /// Served types.
    pub registry: Registry,
    rv: u64,
    objects: HashMap<StorageKey, BTreeMap<(String, String), Value>>,
    history: VecDeque<Arc<StoredEvent>>,
    history_limit: usize,
    compacted_through: u64,
    tx: broadcast::Sender<Arc<StoredEvent>>,
    uid_seed: RandomState,
    /// uid → where the object lives.
    by_uid: HashMap<String, ObjectId>,
    /// owner uid → objects listing it in `ownerReferences`.
    dependents: HashMap<String, BTreeSet<ObjectId>>,
}

/// Where one object lives: storage key, namespace, name.
type ObjectId = (StorageKey, String, String);

fn uid_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 3339 timestamp with second precision, as the API server writes.
pub fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Store {
    /// A store with built-in namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease`.
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(history_limit.max(1024));
        let mut store = Self {
            registry: Registry::new(),
            rv: 0,
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted_through: 0,
            tx,
            uid_seed: RandomState::new(),
            by_uid: HashMap::new(),
            dependents: HashMap::new(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
            if let Some(rt) = store.registry.find("", "v1", "namespaces").cloned() {
                let _ = store.insert_new(&rt, obj);
            }
        }
        store
    }

    /// The latest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// Oldest resourceVersion a watch may start from.
    pub fn compacted_through(&self) -> u64 {
        self.compacted_through
    }

    /// Subscribes to future events.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.tx.subscribe()
    }

    /// Events after `rv` still in history.
    pub fn history_since(&self, rv: u64) -> Vec<Arc<StoredEvent>> {
        self.history.iter().filter(|e| e.rv > rv).cloned().collect()
    }

    fn new_uid(&self) -> String {
        let a = self.uid_seed.hash_one(("uid-a", self.rv));
        let b = self.uid_seed.hash_one(("uid-b", self.rv));
        let v = (u128::from(a) << 64) | u128::from(b);
        let v = (v & !(0xf000u128 << 64)) | (0x4000u128 << 64);
        let v = (v & !(0xc000u128 << 48)) | (0x8000u128 << 48);
        let h = format!("{v:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn record(&mut self, key: StorageKey, kind: EventType, object: Value, previous: Option<Value>) {
        let ev = Arc::new(StoredEvent {
            rv: self.rv,
            key,
            kind,
            object,
            previous,
        });
        self.history.push_back(ev.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted_through = old.rv;
            }
        }
        let _ = self.tx.send(ev);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn id(obj: &Value) -> (String, String) {
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        (ns, name)
    }

    /// Keeps the uid and owner indexes in step with a change from `old` to `new`.
    fn reindex(&mut self, at: ObjectId, old: Option<&Value>, new: Option<&Value>) {
        if let Some(o) = old {
            if let Some(uid) = uid_of(o) {
                self.by_uid.remove(&uid);
            }
            for owner in owner_uids(o) {
                if let Some(set) = self.dependents.get_mut(&owner) {
                    set.remove(&at);
                    if set.is_empty() {
                        self.dependents.remove(&owner);
                    }
                }
            }
        }
        if let Some(n) = new {
            if let Some(uid) = uid_of(n) {
                self.by_uid.insert(uid, at.clone());
            }
            for owner in owner_uids(n) {
                self.dependents.entry(owner).or_default().insert(at.clone());
            }
        }
    }

    /// Garbage collection (background propagation): deletes the dependents of a removed owner
    /// whose other owners are gone too.
    fn collect_dependents(&mut self, owner_uid: &str) {
        let Some(deps) = self.dependents.remove(owner_uid) else {
            return;
        };
        for (key, ns, name) in deps {
            let Some(rt) = self
                .registry
                .all()
                .iter()
                .find(|t| t.storage_key() == key && t.storage)
                .cloned()
            else {
                continue;
            };
            let Ok(obj) = self.get(&rt, &ns, &name) else {
                continue;
            };
            let other_owner_alive = owner_uids(&obj)
                .iter()
                .any(|u| u != owner_uid && self.by_uid.contains_key(u));
            if !other_owner_alive {
                let _ = self.delete(&rt, &ns, &name);
            }
        }
    }

    /// Gets one object (stored form).
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Value> {
        self.objects
            .get(&rt.storage_key())
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// All objects of a resource, optionally in one namespace, ordered by namespace/name.
    pub fn list(&self, rt: &ResourceType, ns: Option<&str>) -> Vec<&Value> {
        self.objects
            .get(&rt.storage_key())
            .map(|m| {
                m.iter()
                    .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
                    .map(|(_, v)| v)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a namespace exists; `Some(true)` if it is terminating.
    pub fn namespace_state(&self, ns: &str) -> Option<bool> {
        self.objects
            .get(&(String::new(), "namespaces".to_string()))
            .and_then(|m| m.get(&(String::new(), ns.to_string())))
            .map(|o| o.pointer("/metadata/deletionTimestamp").is_some())
    }

    /// Inserts a new object, setting uid, resourceVersion, creationTimestamp and generation.
    /// The caller has checked names, namespaces and validation.
    pub fn insert_new(&mut self, rt: &ResourceType, mut obj: Value) -> ApiResult<Value> {
        let key = rt.storage_key();
        let id = Self::id(&obj);
        if self.objects.get(&key).is_some_and(|m| m.contains_key(&id)) {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &id.1));
        }
        let rv = self.next_rv();
        let uid = self.new_uid();
        let meta = obj
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| ApiError::bad_request("metadata is required"))?;
        meta.insert("uid".into(), json!(uid));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("creationTimestamp".into(), json!(now_timestamp()));
        meta.remove("deletionTimestamp");
        if rt.tracks_generation() {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        self.objects
            .entry(key.clone())
            .or_default()
            .insert(id.clone(), obj.clone());
        self.reindex((key.clone(), id.0, id.1), None, Some(&obj));
        self.record(key, EventType::Added, obj.clone(), None);
        Ok(obj)
    }

    /// Stores a changed object: keeps identity fields, bumps generation when anything outside
    /// metadata and status changed, and removes the object if it is deleting with no finalizers.
    /// Returns the stored object and whether it was removed.
    pub fn commit_update(
        &mut self,
        rt: &ResourceType,
        old: &Value,
        mut new: Value,
    ) -> (Value, bool) {
        let key = rt.storage_key();
        let id = Self::id(old);
        for field in ["uid", "creationTimestamp", "name", "namespace"] {
            if let Some(v) = old.pointer(&format!("/metadata/{field}")) {
                new["metadata"][field] = v.clone();
            }
        }
        if let Some(ts) = old.pointer("/metadata/deletionTimestamp") {
            new["metadata"]["deletionTimestamp"] = ts.clone();
        }
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                m.remove("status");
                m.remove("apiVersion");
                m.remove("kind");
            }
            v
        };
        if rt.tracks_generation() {
            let gen_old = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let bumped = if strip(old) != strip(&new) {
                gen_old + 1
            } else {
                gen_old
            };
            new["metadata"]["generation"] = json!(bumped);
        }
        let deleting = new.pointer("/metadata/deletionTimestamp").is_some();
        let no_finalizers = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if deleting && no_finalizers {
            return (self.remove_now(rt, old, Some(new)), true);
        }
        let same = {
            let mut a = old.clone();
            let mut b = new.clone();
            a["metadata"]["resourceVersion"] = Value::Null;
            b["metadata"]["resourceVersion"] = Value::Null;
            a == b
        };
        if same {
            // A no-op write does not bump resourceVersion or emit events.
            return (old.clone(), false);
        }
        let rv = self.next_rv();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects
            .entry(key.clone())
            .or_default()
            .insert(id.clone(), new.clone());
        self.reindex((key.clone(), id.0, id.1), Some(old), Some(&new));
        self.record(key, EventType::Modified, new.clone(), Some(old.clone()));
        (new, false)
    }

    /// Removes an object right away and emits DELETED. `last` is the final state if it differs.
    fn remove_now(&mut self, rt: &ResourceType, old: &Value, last: Option<Value>) -> Value {
        let key = rt.storage_key();
        let id = Self::id(old);
        if let Some(m) = self.objects.get_mut(&key) {
            m.remove(&id);
        }
        self.reindex((key.clone(), id.0.clone(), id.1.clone()), Some(old), None);
        let rv = self.next_rv();
        let mut obj = last.unwrap_or_else(|| old.clone());
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record(key, EventType::Deleted, obj.clone(), Some(old.clone()));
        if rt.kind == "CustomResourceDefinition" {
            self.drop_crd(old);
        }
        if let Some(uid) = uid_of(old) {
            self.collect_dependents(&uid);
        }
        if rt.namespaced {
            self.finish_namespace_if_empty(&id.0);
        }
        obj
    }

    /// Deletes an object: sets deletionTimestamp if finalizers remain, otherwise removes it.
    /// Returns the object and whether it is gone.
    pub fn delete(&mut self, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<(Value, bool)> {
        let old = self.get(rt, ns, name)?;
        let has_finalizers = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
        if !has_finalizers && !is_namespace {
            return Ok((self.remove_now(rt, &old, None), true));
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok((old, false));
        }
        let mut new = old.clone();
        new["metadata"]["deletionTimestamp"] = json!(now_timestamp());
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if is_namespace {
            new["status"]["phase"] = json!("Terminating");
        }
        let key = rt.storage_key();
        let rv = self.next_rv();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects
            .entry(key.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), new.clone());
        self.record(key, EventType::Modified, new.clone(), Some(old));
        if is_namespace {
            self.delete_namespace_contents(name);
            let gone = self.namespace_state(name).is_none();
            return Ok((new, gone));
        }
        Ok((new, false))
    }

    fn delete_namespace_contents(&mut self, ns: &str) {
        let types: Vec<ResourceType> = self
            .registry
            .all()
            .iter()
            .filter(|t| t.namespaced && t.storage)
            .cloned()
            .collect();
        for rt in types {
            let names: Vec<String> = self
                .list(&rt, Some(ns))
                .iter()
                .map(|o| Self::id(o).1)
                .collect();
            for name in names {
                let _ = self.delete(&rt, ns, &name);
            }
        }
        self.finish_namespace_if_empty(ns);
    }

    fn finish_namespace_if_empty(&mut self, ns: &str) {
        if ns.is_empty() || self.namespace_state(ns) != Some(true) {
            return;
        }
        let empty = self
            .objects
            .iter()
            .filter(|((g, p), _)| !(g.is_empty() && p == "namespaces"))
            .all(|(_, m)| !m.keys().any(|(n, _)| n == ns));
        if !empty {
            return;
        }
        let Some(rt) = self.registry.find("", "v1", "namespaces").cloned() else {
            return;
        };
        if let Ok(obj) = self.get(&rt, "", ns) {
            self.remove_now(&rt, &obj, None);
        }
    }

    /// Registers the kinds of a stored CRD.
    pub fn register_crd(&mut self, crd: &Value) {
        self.registry.register_crd(crd);
    }

    fn drop_crd(&mut self, crd: &Value) {
        let group = crd
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let plural = crd
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(rt) = self
            .registry
            .all()
            .iter()
            .find(|t| t.custom && t.group == group && t.plural == plural && t.storage)
            .cloned()
        else {
            self.registry.unregister(&group, &plural);
            return;
        };
        let all: Vec<Value> = self.list(&rt, None).into_iter().cloned().collect();
        for obj in all {
            self.remove_now(&rt, &obj, None);
        }
        self.registry.unregister(&group, &plural);
    }
}
