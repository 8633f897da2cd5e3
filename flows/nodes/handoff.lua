-- handoff: hands the conversation to a human. The bot stops answering it
-- until an agent releases it, so the execution ends here.
return function(ctx, config)
  if config.text then
    local text = ctx.template(config.text)
    if text ~= "" then ctx.send(text) end
  end
  ctx.handoff({note = config.note and ctx.template(config.note) or nil})
  return nil
end
