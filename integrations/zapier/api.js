'use strict';
// Where the API is, its Authorization header, and its errors as Zapier reads them.

// apiUrl is the API's base URL: the API_URL environment variable of the app's version
// (`zapier env:set <version> API_URL=https://…`; the tests set it to the local run's).
const apiUrl = () => {
  const url = process.env.API_URL;
  if (!url) {
    throw new Error('API_URL is not set for this version of the app (zapier env:set).');
  }
  return url.replace(/\/+$/, '');
};

// addBearer sends the connection's key as the key authorizer reads it.
const addBearer = (request, z, bundle) => {
  if (bundle.authData && bundle.authData.apiKey) {
    request.headers = request.headers || {};
    request.headers.Authorization = `Bearer ${bundle.authData.apiKey}`;
  }
  return request;
};

// detailOf reads an error answer: a problem's detail, or the gateway's message.
const detailOf = (response) => {
  let body = {};
  try {
    body = typeof response.json === 'object' && response.json ? response.json : JSON.parse(response.content);
  } catch (e) {
    body = {};
  }
  return { detail: body.detail || body.message || `HTTP ${response.status}`, code: body.code };
};

// handleErrors turns error answers into Zapier's errors: a refused key is an authentication
// error (ExpiredAuthError: Zapier asks the user to reconnect), 429 is throttled for Retry-After seconds, every
// other problem carries its detail and code.
const handleErrors = (response, z) => {
  if (response.status < 400) {
    return response;
  }
  const { detail, code } = detailOf(response);
  if (response.status === 401 || response.status === 403) {
    if (!code || code === 'unauthenticated') {
      throw new z.errors.ExpiredAuthError(`The API key was refused: ${detail}`);
    }
  }
  if (response.status === 429) {
    const retryAfter = parseInt(response.getHeader('retry-after'), 10);
    throw new z.errors.ThrottledError(detail, Number.isFinite(retryAfter) ? retryAfter : 60);
  }
  throw new z.errors.Error(detail, code || 'ApiError', response.status);
};

module.exports = { apiUrl, addBearer, handleErrors };
