-- schemagate DatabaseInstance health: Ready decides. Drift is reported in the message but stays
-- Healthy: a Degraded instance in an early sync wave would fail every sync of the application,
-- including the SchemaChange meant to reconcile the drift (see docs/argocd.md).
local hs = {}
local function condition(ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end
local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for schemagate to connect to the database"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for schemagate to observe the latest spec"
  return hs
end
if ready.status ~= "True" then
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. (ready.message or "")
  return hs
end
hs.status = "Healthy"
hs.message = ready.message or "Connected"
local drifted = condition("Drifted")
if drifted ~= nil and drifted.status == "True" then
  hs.message = "Drifted: " .. (drifted.message or "the live schema differs from the last applied change")
end
return hs
