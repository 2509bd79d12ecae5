-- schemagate SchemaChange health. Waiting for a human is Suspended (never Degraded), so an Argo CD
-- sync waits for the approval instead of failing.
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
if obj.status == nil or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for schemagate to pick up the change"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for schemagate to observe the latest spec"
  return hs
end
local phase = obj.status.phase
local ready = condition("Ready")
hs.message = phase
if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = phase .. ": " .. ready.message
end
if phase == "Applied" then
  hs.status = "Healthy"
elseif phase == "AwaitingApproval" then
  hs.status = "Suspended"
elseif phase == "ReviewFailed" or phase == "Failed" or phase == "Rejected" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
return hs
