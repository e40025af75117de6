/// `GET /openapi.json`: every route with its request and response schema (OpenAPI 3.1).
public enum OpenAPISpec {
    public static let json = #"""
{
  "openapi": "3.1.0",
  "info": {"title": "Osprey OpenAI-compatible API", "version": "0.1.0",
           "description": "OpenAI's request and response shapes with vLLM's extensions. Routes under /v1 need 'Authorization: Bearer <key>' when the server was started with --api-key."},
  "paths": {
    "/v1/models": {"get": {"summary": "List the served models", "responses": {"200": {"description": "Model list", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}}}}},
    "/v1/completions": {"post": {"summary": "Create a completion (streams as server-sent events with stream: true)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionRequest"},
        "example": {"prompt": "The capital of France is", "max_tokens": 16, "temperature": 0}}}},
      "responses": {"200": {"description": "Completion", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CompletionResponse"}}, "text/event-stream": {}}},
                    "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}}},
    "/v1/chat/completions": {"post": {"summary": "Create a chat completion (streams as server-sent events with stream: true)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionRequest"},
        "example": {"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 32}}}},
      "responses": {"200": {"description": "Chat completion", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletionResponse"}}, "text/event-stream": {}}},
                    "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}}},
    "/tokenize": {"post": {"summary": "Tokenize a prompt or chat messages",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenizeRequest"}, "example": {"prompt": "Hello world"}}}},
      "responses": {"200": {"description": "Tokens", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenizeResponse"}}}}, "400": {"$ref": "#/components/responses/Error"}}}},
    "/detokenize": {"post": {"summary": "Detokenize token ids",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetokenizeRequest"}, "example": {"tokens": [19556, 905]}}}},
      "responses": {"200": {"description": "Text", "content": {"application/json": {"schema": {"type": "object", "properties": {"prompt": {"type": "string"}}}}}}, "400": {"$ref": "#/components/responses/Error"}}}},
    "/health": {"get": {"summary": "Liveness: 200 with an empty body while the server serves", "responses": {"200": {"description": "Healthy"}}}},
    "/version": {"get": {"summary": "Server version", "responses": {"200": {"description": "Version", "content": {"application/json": {"schema": {"type": "object", "properties": {"version": {"type": "string"}}}}}}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (vllm:* names)", "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}}}},
    "/docs": {"get": {"summary": "Interactive documentation page", "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}}
  },
  "components": {
    "responses": {"Error": {"description": "OpenAI-shaped error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}},
    "schemas": {
      "ErrorResponse": {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]}, "code": {"type": "integer"}}}}},
      "SamplingFields": {"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 1, "default": 1}, "best_of": {"type": "integer"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "top_k": {"type": "integer"}, "min_p": {"type": "number"}, "seed": {"type": "integer"},
        "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2}, "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
        "repetition_penalty": {"type": "number", "exclusiveMinimum": 0},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "stop_token_ids": {"type": "array", "items": {"type": "integer"}}, "include_stop_str_in_output": {"type": "boolean"},
        "ignore_eos": {"type": "boolean"}, "min_tokens": {"type": "integer"}, "logit_bias": {"type": "object", "additionalProperties": {"type": "number"}},
        "allowed_token_ids": {"type": "array", "items": {"type": "integer"}}, "bad_words": {"type": "array", "items": {"type": "string"}},
        "skip_special_tokens": {"type": "boolean"}, "spaces_between_special_tokens": {"type": "boolean"}, "prompt_logprobs": {"type": "integer"},
        "stream": {"type": "boolean"}, "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
        "echo": {"type": "boolean"}, "user": {"type": "string"}}},
      "CompletionRequest": {"allOf": [{"$ref": "#/components/schemas/SamplingFields"}, {"type": "object", "required": ["prompt"], "properties": {
        "model": {"type": "string"},
        "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "integer"}},
                             {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}]},
        "max_tokens": {"type": "integer", "default": 16}, "logprobs": {"type": "integer", "minimum": 0}, "add_special_tokens": {"type": "boolean"}}}]},
      "ChatMessage": {"type": "object", "required": ["role"], "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"oneOf": [{"type": "string"}, {"type": "null"}, {"type": "array", "items": {"type": "object", "properties": {"type": {"const": "text"}, "text": {"type": "string"}}}}]},
        "tool_calls": {"type": "array"}, "tool_call_id": {"type": "string"}, "name": {"type": "string"}, "reasoning_content": {"type": "string"}}},
      "ChatCompletionRequest": {"allOf": [{"$ref": "#/components/schemas/SamplingFields"}, {"type": "object", "required": ["messages"], "properties": {
        "model": {"type": "string"}, "messages": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ChatMessage"}},
        "max_tokens": {"type": "integer"}, "max_completion_tokens": {"type": "integer"},
        "logprobs": {"type": "boolean"}, "top_logprobs": {"type": "integer", "minimum": 0, "maximum": 20},
        "tools": {"type": "array", "items": {"type": "object"}}, "tool_choice": {"oneOf": [{"type": "string", "enum": ["auto", "none", "required"]}, {"type": "object"}]},
        "parallel_tool_calls": {"type": "boolean"}, "chat_template_kwargs": {"type": "object", "example": {"enable_thinking": false}},
        "add_generation_prompt": {"type": "boolean", "default": true}, "continue_final_message": {"type": "boolean", "default": false},
        "add_special_tokens": {"type": "boolean", "default": false}}}]},
      "Usage": {"type": "object", "properties": {"prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}}},
      "CompletionResponse": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "text_completion"}, "created": {"type": "integer"},
        "model": {"type": "string"}, "usage": {"$ref": "#/components/schemas/Usage"},
        "choices": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "text": {"type": "string"},
          "logprobs": {"type": ["object", "null"]}, "finish_reason": {"type": ["string", "null"], "enum": ["stop", "length", "abort", null]},
          "stop_reason": {"type": ["string", "integer", "null"]}}}}}},
      "ChatCompletionResponse": {"type": "object", "properties": {"id": {"type": "string"}, "object": {"const": "chat.completion"}, "created": {"type": "integer"},
        "model": {"type": "string"}, "usage": {"$ref": "#/components/schemas/Usage"},
        "choices": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"},
          "message": {"type": "object", "properties": {"role": {"type": "string"}, "content": {"type": ["string", "null"]}, "reasoning_content": {"type": ["string", "null"]}, "tool_calls": {"type": "array"}}},
          "logprobs": {"type": ["object", "null"]}, "finish_reason": {"type": ["string", "null"], "enum": ["stop", "length", "tool_calls", "abort", null]}}}}}},
      "TokenizeRequest": {"type": "object", "properties": {"model": {"type": "string"}, "prompt": {"type": "string"},
        "messages": {"type": "array", "items": {"$ref": "#/components/schemas/ChatMessage"}}, "add_special_tokens": {"type": "boolean"},
        "add_generation_prompt": {"type": "boolean"}, "return_token_strs": {"type": "boolean"}}},
      "TokenizeResponse": {"type": "object", "properties": {"count": {"type": "integer"}, "max_model_len": {"type": "integer"},
        "tokens": {"type": "array", "items": {"type": "integer"}}, "token_strs": {"type": ["array", "null"]}}},
      "DetokenizeRequest": {"type": "object", "required": ["tokens"], "properties": {"model": {"type": "string"}, "tokens": {"type": "array", "items": {"type": "integer"}}}},
      "ModelList": {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"}, "owned_by": {"type": "string"},
        "root": {"type": "string"}, "parent": {"type": ["string", "null"]}, "max_model_len": {"type": "integer"}, "permission": {"type": "array"}}}}}}
    }
  }
}
"""#
}
