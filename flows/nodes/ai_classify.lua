-- ai_classify: takes the port of the label the provider picks for the text,
-- or default when none is confident enough.
return function(ctx, config)
  local result = ctx.ai_classify({
    knowledge_base = config.knowledge_base,
    text = ctx.template(config.text or "{{message.text}}"),
    labels = config.labels,
  })
  ctx.vars[config.save_as or "classification"] = result
  if result.error then error("ai_classify: " .. result.error, 0) end
  local min_score = config.min_score or 0.3
  if type(result.label) == "string" and result.label ~= "" and (result.score or 0) >= min_score then
    return "label:" .. result.label
  end
  return "default"
end
