-- schemagate Approval health: Accepted says whether it counts. An Approval for a change that is
-- not reviewed yet is Progressing: it is re-checked once the change has a digest.
local hs = {}
local accepted = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Accepted" then
      accepted = c
    end
  end
end
if accepted == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for schemagate to check the approval"
elseif accepted.status == "True" then
  hs.status = "Healthy"
  hs.message = accepted.message or "Accepted"
elseif accepted.reason == "ChangeNotReviewed" then
  hs.status = "Progressing"
  hs.message = accepted.message or "Waiting for the change to be reviewed"
else
  hs.status = "Degraded"
  hs.message = accepted.reason .. ": " .. (accepted.message or "")
end
return hs
