-- Argo CD health check for pgupgrade.dev/PostgresUpgrade (resource.customizations.health.pgupgrade.dev_PostgresUpgrade).
-- Healthy: the upgrade succeeded. Degraded: it failed, is rolling back, or rolled back (status.message says why
-- and what to do). Suspended: it waits for a human's approval (spec.approval). Progressing: anything else,
-- including a spec the operator has not looked at yet (observedGeneration behind metadata.generation).
local hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the pgupgrade operator to start the upgrade"
if obj.status == nil or obj.status.phase == nil then
  return hs
end
local phase = obj.status.phase
if obj.status.message ~= nil then
  hs.message = phase .. ": " .. obj.status.message
else
  hs.message = phase
end
-- a refused spec change (after success, or during the downtime) is said, whatever the health
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "SpecChangeRefused" and condition.status == "True" and condition.message ~= nil then
      hs.message = hs.message .. " (spec change refused: " .. condition.message .. ")"
    end
  end
end
-- a failure is shown as soon as it happens, even while a newer spec waits to be looked at
if phase == "Failed" or phase == "RolledBack" or phase == "RollingBack" then
  hs.status = "Degraded"
  return hs
end
if obj.metadata ~= nil and obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the operator to see generation " .. obj.metadata.generation .. " of the spec (" .. hs.message .. ")"
  return hs
end
if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "AwaitingApproval" then
  hs.status = "Suspended"
end
return hs
