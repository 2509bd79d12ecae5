-- schemagate Project health: Ready says whether the review and approval policies are valid.
local hs = {}
local ready = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for schemagate to validate the project"
elseif ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Policy valid"
else
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. (ready.message or "")
end
return hs
