-- ai_reply: answers the contact's question from a knowledge base with
-- citations; no_answer when nothing relevant is found. A provider failure
-- goes to the error port when it is drawn; otherwise the contact gets the
-- fallback (a message, a human) and the execution ends failed, so the error
-- is on record.
return function(ctx, config)
  local result = ctx.ai_reply({
    knowledge_base = config.knowledge_base,
    question = ctx.template(config.question or "{{message.text}}"),
    tags = config.tags,
    min_score = config.min_score,
    citation_style = config.citation_style,
    max_chunks = config.max_chunks,
  })
  ctx.vars[config.save_as or "ai"] = result
  if result.error then
    local message = "ai_reply: " .. result.error
    local ports = ctx.node and ctx.node.ports or {}
    if ports.error then error(message, 0) end
    if config.fallback_text then ctx.send(ctx.template(config.fallback_text)) end
    if config.handoff_on_error ~= false then
      ctx.handoff({note = "The AI provider failed: " .. result.error, error = message})
    end
    error(message, 0)
  end
  if not result.answered then
    ctx.log("info", "ai_reply: no answer: " .. (result.reason or "?"))
    return "no_answer"
  end
  ctx.send(result.text)
  return "next"
end
