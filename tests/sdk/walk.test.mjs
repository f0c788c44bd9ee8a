// The SDK walk: Commerce Layer's js-auth and provisioning SDK, as published, against this
// service. Only `fetch` is changed, to send their requests here instead of to Commerce Layer.
import { test, before, after } from 'node:test'
import { createPublicKey, verify } from 'node:crypto'
import assert from 'node:assert/strict'
import { authenticate } from '@commercelayer/js-auth'
import { CommerceLayerProvisioning } from '@commercelayer/provisioning-sdk'
import { startServer, redirectingFetch } from './server.mjs'

const domain = 'provisioning.test'
let server

before(async () => {
  server = await startServer()
  // js-auth has no fetch option: it calls the global one.
  globalThis.fetch = redirectingFetch(domain, server.url)
})

after(() => server?.stop())

async function tokenFor(clientId, clientSecret) {
  const token = await authenticate('client_credentials', { clientId, clientSecret, domain, scope: 'provisioning-api' })
  assert.equal(token.errors, undefined, JSON.stringify(token.errors))
  assert.equal(token.tokenType, 'bearer')
  assert.ok(token.expires instanceof Date && token.expires > new Date())
  return token.accessToken
}

function client(accessToken) {
  return CommerceLayerProvisioning({ accessToken, domain, fetch: globalThis.fetch })
}

test('the SDK walk', async () => {
  const cl = client(await tokenFor(server.clientId, server.clientSecret))

  // A failed authentication is read from `errors`, as js-auth does.
  const refused = await authenticate('client_credentials', { clientId: server.clientId, clientSecret: 'wrong', domain })
  assert.equal(refused.errors?.[0]?.status, '401')

  const user = await cl.user.retrieve()
  assert.equal(user.email, 'admin@localhost')

  const organization = await cl.organizations.create({ name: 'SDK Walk Brand', support_email: 'help@walk.test', metadata: { source: 'sdk' } })
  assert.equal(organization.slug, 'sdk-walk-brand')

  const role = await cl.roles.create({ name: 'Support', organization: cl.organizations.relationship(organization.id) })
  assert.equal(role.kind, 'custom')
  const permission = await cl.permissions.create({
    can_create: false, can_read: true, can_update: false, can_destroy: false, subject: 'memberships',
    role: cl.roles.relationship(role.id),
  })
  assert.equal(permission.subject, 'memberships')

  const readOnlyRole = (await cl.roles.list({ filters: { organization_id_eq: organization.id, kind_eq: 'read_only' } })).first()
  assert.ok(readOnlyRole)
  const invited = await cl.memberships.create({
    user_email: 'reader@walk.test',
    organization: cl.organizations.relationship(organization.id),
    role: cl.roles.relationship(readOnlyRole.id),
  })
  assert.equal(invited.status, 'pending')
  await cl.memberships.resend(invited.id)

  // List and filter each type.
  const organizations = await cl.organizations.list({ filters: { name_cont: 'walk' } })
  assert.equal(organizations.meta.recordCount, 1)
  const roles = await cl.roles.list({ filters: { organization_id_eq: organization.id }, sort: { name: 'asc' }, pageSize: 25 })
  assert.equal(roles.meta.recordCount, 3)
  const permissions = await cl.permissions.list({ filters: { role_id_eq: role.id } })
  assert.equal(permissions.length, 1)
  const memberships = await cl.memberships.list({ filters: { status_eq: 'pending' }, include: ['role'] })
  assert.equal(memberships.length, 1)
  assert.equal(memberships.first().role.kind, 'read_only')
  const profile = await cl.membership_profiles.create({ name: 'Ops', access_scope: 'test_access', organization: cl.organizations.relationship(organization.id) })
  assert.equal(profile.test_enabled, true)
  assert.equal((await cl.membership_profiles.list({ filters: { name_eq: 'Ops' } })).length, 1)

  // Follow relationships.
  const rolePermissions = await cl.roles.permissions(role.id)
  assert.deepEqual(Array.from(rolePermissions, (p) => p.id), [permission.id])
  const membershipOrganization = await cl.memberships.organization(invited.id)
  assert.equal(membershipOrganization.id, organization.id)

  // Versions.
  const versions = await cl.versions.list({ filters: { resource_type_eq: 'roles', resource_id_eq: role.id } })
  assert.equal(versions.first().event, 'create')
  assert.equal(versions.first().who.user.email, 'admin@localhost')
  const roleVersions = await cl.roles.versions(role.id)
  assert.equal(roleVersions.length, 1)

  // Updates, and the singleton user.
  const renamed = await cl.roles.update({ id: role.id, name: 'Helpdesk' })
  assert.equal(renamed.name, 'Helpdesk')
  const me = await cl.user.update({ first_name: 'Ada' })
  assert.equal(me.first_name, 'Ada')

  // The invited reader appears, signs in, and may read but not write: 403.
  const reader = server.createUser('reader@walk.test')
  const readerClient = client(await tokenFor(reader.clientId, reader.clientSecret))
  assert.equal((await readerClient.organizations.retrieve(organization.id)).id, organization.id)
  await assert.rejects(
    readerClient.roles.create({ name: 'Nope', organization: cl.organizations.relationship(organization.id) }),
    (error) => error.status === 403 && error.errors[0].code === 'FORBIDDEN',
  )
  // Another organization's record does not exist for them: 404.
  const elsewhere = await cl.organizations.create({ name: 'Elsewhere' })
  await assert.rejects(readerClient.organizations.retrieve(elsewhere.id), (error) => error.status === 404)
  await assert.rejects(cl.organizations.retrieve('doesNotExist'), (error) => error.status === 404 && error.errors[0].code === 'RECORD_NOT_FOUND')

  // Ownership moves to the reader (202), and a membership can be deleted.
  await cl.organizations.transfer_ownership(organization.id, { type: 'organizations', id: organization.id, new_owner_email: 'reader@walk.test' })
  const owners = await cl.memberships.list({ filters: { organization_id_eq: organization.id, owner_true: true } })
  assert.equal(owners.first().user_email, 'reader@walk.test')
  const extra = await cl.memberships.create({ user_email: 'temp@walk.test', organization: cl.organizations.relationship(organization.id), role: cl.roles.relationship(readOnlyRole.id) })
  await cl.memberships.delete(extra.id)
  await assert.rejects(cl.memberships.retrieve(extra.id), (error) => error.status === 404)
})

test('API credentials through the SDK', async () => {
  const cl = client(await tokenFor(server.clientId, server.clientSecret))
  const organization = await cl.organizations.create({ name: 'Credential Walk' })
  const admin = (await cl.roles.list({ filters: { organization_id_eq: organization.id, kind_eq: 'admin' } })).first()
  const org = cl.organizations.relationship(organization.id)

  const sales = await cl.api_credentials.create({ name: 'Storefront', kind: 'sales_channel', organization: org })
  assert.equal(sales.client_secret, null)
  const integration = await cl.api_credentials.create({ name: 'ERP', kind: 'integration', organization: org, role: cl.roles.relationship(admin.id) })
  assert.ok(integration.client_secret, 'the secret comes with the create response')
  const webapp = await cl.api_credentials.create({
    name: 'Dashboard', kind: 'webapp', redirect_uri: 'https://dashboard.walk.test/callback', auth_method: 'client_secret_post', organization: org,
  })
  assert.ok(webapp.client_secret)

  // js-auth: a sales channel by its id; client_secret_post in the body; client_secret_basic by
  // the Authorization header js-auth lets a caller add.
  const salesToken = await authenticate('client_credentials', { clientId: sales.client_id, domain })
  assert.equal(salesToken.errors, undefined, JSON.stringify(salesToken.errors))
  const webappToken = await authenticate('client_credentials', { clientId: webapp.client_id, clientSecret: webapp.client_secret, domain })
  assert.equal(webappToken.errors, undefined, JSON.stringify(webappToken.errors))
  const basic = (secret) => ({ Authorization: `Basic ${Buffer.from(`${integration.client_id}:${secret}`).toString('base64')}` })
  const integrationToken = await authenticate('client_credentials', { clientId: integration.client_id, domain, headers: basic(integration.client_secret) })
  assert.equal(integrationToken.errors, undefined, JSON.stringify(integrationToken.errors))
  assert.equal(integrationToken.expiresIn, 7200)
  // js-auth's default call, untouched, for an integration made without an auth_method: the
  // secret goes in the body, and the recorded client_secret_basic does not refuse it.
  const defaultCall = await authenticate('client_credentials', { clientId: integration.client_id, clientSecret: integration.client_secret, domain })
  assert.equal(defaultCall.errors, undefined, JSON.stringify(defaultCall.errors))
  assert.ok(defaultCall.accessToken)

  // Never again in plain text.
  assert.equal((await cl.api_credentials.retrieve(integration.id)).client_secret, null)
  assert.ok((await cl.api_credentials.list({ filters: { organization_id_eq: organization.id } })).every((c) => c.client_secret === null))

  // Rotate: both secrets give tokens during the grace period.
  const rotated = await cl.api_credentials.update({ id: integration.id, _rotate_secret: true })
  assert.ok(rotated.client_secret && rotated.client_secret !== integration.client_secret)
  assert.ok(rotated.client_secret_previous_expires_at)
  for (const secret of [integration.client_secret, rotated.client_secret]) {
    const token = await authenticate('client_credentials', { clientId: integration.client_id, domain, headers: basic(secret) })
    assert.equal(token.errors, undefined, JSON.stringify(token.errors))
  }

  // Delete: no more tokens.
  await cl.api_credentials.delete(integration.id)
  const refused = await authenticate('client_credentials', { clientId: integration.client_id, domain, headers: basic(rotated.client_secret) })
  assert.equal(refused.errors?.[0]?.status, '401')
})

test('a token for an API resource, verified offline', async () => {
  const accessToken = await tokenFor(server.clientId, server.clientSecret)
  const cl = client(accessToken)
  const organization = await cl.organizations.create({ name: 'Resource Walk' })
  const admin = (await cl.roles.list({ filters: { organization_id_eq: organization.id, kind_eq: 'admin' } })).first()
  // The SDK has no API resources (Commerce Layer has none): plain JSON:API requests.
  const jsonapi = async (method, path, body) => {
    const response = await fetch(`https://provisioning.${domain}/api/${path}`, {
      method,
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/vnd.api+json', Accept: 'application/vnd.api+json' },
      body: body && JSON.stringify(body),
    })
    const document = await response.json()
    assert.ok(response.ok, JSON.stringify(document))
    return document.data
  }
  const orgLink = { data: { type: 'organizations', id: organization.id } }
  const api = await jsonapi('POST', 'api_resources', { data: { type: 'api_resources', attributes: { name: 'Orders', identifier: 'https://orders.walk.test', access_token_ttl: 600 }, relationships: { organization: orgLink } } })
  const scope = (name) => jsonapi('POST', 'api_scopes', { data: { type: 'api_scopes', attributes: { name }, relationships: { api_resource: { data: { type: 'api_resources', id: api.id } } } } })
  const read = await scope('orders:read')
  await scope('orders:write')

  const integration = await cl.api_credentials.create({ name: 'Order sync', kind: 'integration', auth_method: 'client_secret_post', organization: cl.organizations.relationship(organization.id), role: cl.roles.relationship(admin.id) })
  await jsonapi('POST', `api_credentials/${integration.id}/relationships/api_scopes`, { data: [{ type: 'api_scopes', id: read.id }] })
  assert.equal((await cl.api_credentials.retrieve(integration.id)).scopes, 'orders:read')

  // js-auth sends extra options as token request parameters: resource and scope.
  const granted = await authenticate('client_credentials', { clientId: integration.client_id, clientSecret: integration.client_secret, domain, resource: 'https://orders.walk.test', scope: 'orders:read' })
  assert.equal(granted.errors, undefined, JSON.stringify(granted.errors))
  const refused = await authenticate('client_credentials', { clientId: integration.client_id, clientSecret: integration.client_secret, domain, resource: 'https://orders.walk.test', scope: 'orders:write' })
  assert.equal(refused.errors?.[0]?.code, 'INVALID_SCOPE')

  // A resource server: the JWKS once, then nothing but local checks.
  const jwks = await (await fetch(`https://auth.${domain}/.well-known/jwks.json`)).json()
  const [encodedHeader, encodedPayload, signature] = granted.accessToken.split('.')
  const header = JSON.parse(Buffer.from(encodedHeader, 'base64url'))
  const claims = JSON.parse(Buffer.from(encodedPayload, 'base64url'))
  assert.equal(header.typ, 'at+jwt')
  assert.equal(header.alg, 'RS512')
  const key = createPublicKey({ key: jwks.keys.find((k) => k.kid === header.kid), format: 'jwk' })
  assert.ok(verify('sha512', Buffer.from(`${encodedHeader}.${encodedPayload}`), key, Buffer.from(signature, 'base64url')), 'the signature verifies')
  assert.equal(claims.aud, 'https://orders.walk.test')
  assert.equal(claims.scope, 'orders:read')
  assert.equal(claims.client_id, integration.client_id)
  assert.equal(claims.exp - claims.iat, 600)
  assert.ok(claims.exp > Date.now() / 1000)
})

test('identity providers through the SDK', async () => {
  const cl = client(await tokenFor(server.clientId, server.clientSecret))
  const organization = await cl.organizations.create({ name: 'SSO Walk' })
  const provider = await cl.identity_providers.create({
    name: 'Walk IdP',
    client_id: 'walk-client',
    client_secret: 'walk-upstream-secret',
    issuer: 'https://idp.walk.test/',
    domains: 'walk.test,Staff.Walk.test',
    authorize_url: 'https://idp.walk.test/authorize',
    token_url: 'https://idp.walk.test/oauth/token',
    jwks_url: 'https://idp.walk.test/.well-known/jwks.json',
    organization: organization.id,
  })
  assert.equal(provider.status, 'pending')
  assert.equal(provider.domains, 'walk.test,staff.walk.test')
  assert.match(provider.txt_record, /^provisioning-verification=[\w-]{32}$/)
  assert.equal(provider.organization, organization.id)
  assert.equal(provider.client_secret, undefined, 'the upstream secret is never shown')

  const listed = await cl.identity_providers.list({ filters: { organization_eq: organization.id } })
  assert.equal(listed.length, 1)
  assert.equal(listed.first().id, provider.id)
  assert.equal((await cl.identity_providers.retrieve(provider.id)).name, 'Walk IdP')
  const updated = await cl.identity_providers.update({ id: provider.id, name: 'Walk SSO', client_secret: 'rotated-upstream-secret' })
  assert.equal(updated.name, 'Walk SSO')
  assert.equal(updated.client_secret, undefined)

  const disabled = await cl.identity_providers._disable(provider.id)
  assert.ok(disabled.disabled_at)
  const enabled = await cl.identity_providers._enable(provider.id)
  assert.equal(enabled.disabled_at, null)

  await cl.identity_providers.delete(provider.id)
  await assert.rejects(cl.identity_providers.retrieve(provider.id), (error) => error.status === 404)
})
