/// The UI's templates (Mustache: `{{x}}` is HTML-escaped; `{{{x}}}` only for HTML sfdest made).
enum UITemplateText {
    static let all: [(String, String)] = [
        ("layout", layout), ("error", error), ("login", login), ("home", home), ("connections", connections),
        ("destinationNew", destinationNew), ("steps", steps), ("destination", destination), ("record", record),
        ("mapping", mapping), ("audiences", audiences), ("review", review), ("labels", labels), ("alerts", alerts), ("keys", keys), ("audit", audit),
    ]

    static let layout = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · sfdest</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/ui/assets/app.css">
        <script src="/ui/assets/app.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#content">Skip to content</a>
        <header class="top">
          <a class="brand" href="/ui/">sfdest</a>
          {{#signedIn}}
          <nav aria-label="Main">
            <a href="/ui/" {{#nav_home}}aria-current="page"{{/nav_home}}>Destinations</a>
            <a href="/ui/connections" {{#nav_connections}}aria-current="page"{{/nav_connections}}>Connections</a>
            <a href="/ui/alerts" {{#nav_alerts}}aria-current="page"{{/nav_alerts}}>Alerts</a>
            {{#can.viewDestinations}}<a href="/ui/labels" {{#nav_labels}}aria-current="page"{{/nav_labels}}>Labels</a>{{/can.viewDestinations}}
            {{#can.manageKeys}}<a href="/ui/keys" {{#nav_keys}}aria-current="page"{{/nav_keys}}>API keys</a>
            <a href="/ui/audit" {{#nav_audit}}aria-current="page"{{/nav_audit}}>Audit log</a>{{/can.manageKeys}}
          </nav>
          <div class="who"><span>Signed in with <strong id="key-name">{{keyName}}</strong></span>
            <form id="logout" class="inline" method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>
          </div>
          {{/signedIn}}
        </header>
        <main id="content" {{#refresh}}data-refresh="5"{{/refresh}}>
        {{#flashes}}
          <div class="flash {{kind}}" role="{{#hasProblems}}alert{{/hasProblems}}{{^hasProblems}}status{{/hasProblems}}">{{message}}
          {{#hasProblems}}<ul>{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}{{#secret}}<p class="secret-once" id="new-key-value">{{secret}}</p>{{/secret}}</div>
        {{/flashes}}
        {{{body}}}
        </main>
        </body>
        </html>
        """#

    static let error = #"""
        <h1>{{status}} · {{message}}</h1>
        <p class="muted">Nothing was changed by this request. <a href="/ui/">Back to the destinations</a>.</p>
        """#

    static let login = #"""
        <h1>Sign in</h1>
        <div class="panel">
        <form id="login" method="post" action="/ui/login">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <input type="hidden" name="next" value="{{next}}">
          {{#error}}<p class="flash error" role="alert" id="login-error">{{error}}</p>{{/error}}
          <label for="apiKey">API key</label>
          <input id="apiKey" name="apiKey" type="password" autocomplete="current-password" required autofocus>
          <p class="help">The bootstrap key (printed at first start, or SFDEST_API_KEY) or a key made under API keys. Pages and buttons follow its permissions.</p>
          <button type="submit" id="sign-in">Sign in</button>
        </form>
        </div>
        """#

    static let home = #"""
        <h1>Destinations</h1>
        {{#noView}}<p>This key has no view-destinations permission, so there is nothing to show here. {{#can.manageKeys}}<a href="/ui/keys">Manage API keys</a>.{{/can.manageKeys}}</p>{{/noView}}
        {{^noView}}
        <div class="actions">
          {{#can.manageDestinations}}
          <a class="button" href="/ui/connections">Connect a Salesforce org</a>
          {{#hasConnections}}<a class="button secondary" id="new-destination" href="/ui/destinations/new">New destination</a>{{/hasConnections}}
          {{/can.manageDestinations}}
          {{#refresh}}<span class="muted" id="refreshed" aria-live="polite">Work in flight: this page refreshes itself.</span>{{/refresh}}
        </div>
        {{#hasDestinations}}
        <div class="table-wrap"><table id="destinations">
          <thead><tr><th>Name</th><th>Object</th><th>Connection</th><th>Status</th><th>Delivery</th><th class="num">Pending</th><th class="num">In flight</th><th class="num">Retrying</th><th class="num">Failed</th></tr></thead>
          <tbody>
          {{#destinations}}
          <tr><td><a href="/ui/destinations/{{id}}">{{name}}</a><div class="muted">{{description}}</div></td><td>{{objectType}}</td><td>{{connectionName}}</td>
            <td><span class="badge {{statusClass}}">{{status}}</span></td><td>{{delivery.status}}{{#delivery.reason}}<div class="muted">{{delivery.reason}}</div>{{/delivery.reason}}</td>
            <td class="num">{{backlog.pending}}</td><td class="num">{{backlog.inFlight}}</td><td class="num">{{backlog.retrying}}</td><td class="num">{{backlog.failed}}</td></tr>
          {{/destinations}}
          </tbody>
        </table></div>
        {{/hasDestinations}}
        {{^hasDestinations}}<p class="panel">No destination yet. {{^hasConnections}}Start by connecting a Salesforce org.{{/hasConnections}}{{#hasConnections}}Create one to start sending audiences.{{/hasConnections}}</p>{{/hasDestinations}}
        {{/noView}}
        """#

    static let connections = #"""
        <h1>Connections</h1>
        {{#hasConnections}}
        <div class="table-wrap"><table id="connections">
          <thead><tr><th>Name</th><th>Org</th><th>Sign-in</th><th>Status</th><th></th></tr></thead>
          <tbody>
          {{#connections}}
          <tr><td>{{name}}<div class="muted">{{id}}</div></td><td>{{instanceUrl}}</td><td>{{auth.type}}{{#auth.username}} as {{auth.username}}{{/auth.username}}</td>
            <td><span class="badge {{statusClass}}">{{status}}</span>{{#statusMessage}}<div class="muted">{{statusMessage}}</div>{{/statusMessage}}</td>
            <td>{{#can.manageDestinations}}<form class="inline" method="post" action="/ui/connections/{{id}}/delete" data-confirm="Delete {{name}} and erase its credentials?"><input type="hidden" name="csrf" value="{{csrf}}"><button class="secondary" type="submit">Delete</button></form>{{/can.manageDestinations}}</td></tr>
          {{/connections}}
          </tbody>
        </table></div>
        {{/hasConnections}}
        {{#can.manageDestinations}}
        <h2>Connect a Salesforce org</h2>
        <form id="new-connection" class="panel" method="post" action="/ui/connections">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label for="c-name">Name</label>
          <input id="c-name" name="name" type="text" value="{{v_name}}" placeholder="Acme production" required>
          <fieldset><legend>Where the org signs in</legend>
            <input type="radio" id="lk-domain" name="loginKind" value="customDomain" {{^useLoginUrl}}checked{{/useLoginUrl}}><label class="inline" for="lk-domain">My Domain</label>
            <input type="radio" id="lk-url" name="loginKind" value="loginUrl" {{#useLoginUrl}}checked{{/useLoginUrl}}><label class="inline" for="lk-url">Login URL</label>
            <div data-login-fields="customDomain"><label for="c-domain">My Domain prefix</label>
              <input id="c-domain" name="customDomain" type="text" value="{{v_customDomain}}" placeholder="acme-dev-ed">
              <p class="help">The part before .my.salesforce.com (Setup → My Domain). A sandbox's prefix contains two dashes, such as acme--uat.</p></div>
            <div data-login-fields="loginUrl"><label for="c-url">Login URL</label>
              <input id="c-url" name="loginUrl" type="url" value="{{v_loginUrl}}" placeholder="https://login.salesforce.com">
              <p class="help">https://login.salesforce.com, https://test.salesforce.com for a sandbox, or the org's My Domain URL.</p></div>
          </fieldset>
          <fieldset><legend>How sfdest signs in</legend>
            <input type="radio" id="at-password" name="authType" value="password" {{#password}}checked{{/password}}><label class="inline" for="at-password">Username and password</label>
            <input type="radio" id="at-cc" name="authType" value="clientCredentials" {{#clientCredentials}}checked{{/clientCredentials}}><label class="inline" for="at-cc">Client credentials</label>
            <input type="radio" id="at-jwt" name="authType" value="jwtBearer" {{#jwtBearer}}checked{{/jwtBearer}}><label class="inline" for="at-jwt">JWT bearer</label>
            <div data-auth-fields="password">
              <p class="help">Salesforce ends this flow for new connected apps on 2027-02-20: prefer JWT bearer.</p>
              <label for="p-user">Username</label><input id="p-user" name="username" type="text" value="{{v_username}}" autocomplete="off">
              <label for="p-pass">Password</label><input id="p-pass" name="password" type="password" autocomplete="new-password">
              <label for="p-token">Security token</label><input id="p-token" name="securityToken" type="password" autocomplete="off">
              <p class="help">Appended to the password, as Salesforce wants it; leave it empty if it is in the password already or the IP range is trusted.</p>
              <label for="p-key">Consumer Key</label><input id="p-key" name="clientId" type="text" value="{{v_clientId}}" autocomplete="off">
              <label for="p-secret">Consumer Secret</label><input id="p-secret" name="clientSecret" type="password" autocomplete="off">
              <p class="help">From the connected app (Setup → App Manager → View → Manage Consumer Details).</p>
            </div>
            <div data-auth-fields="clientCredentials">
              <label for="cc-key">Consumer Key</label><input id="cc-key" name="clientId" type="text" value="{{v_clientId}}" autocomplete="off">
              <label for="cc-secret">Consumer Secret</label><input id="cc-secret" name="clientSecret" type="password" autocomplete="off">
              <p class="help">The connected app needs Enable Client Credentials Flow and a Run As user, and the org's My Domain as the login host.</p>
            </div>
            <div data-auth-fields="jwtBearer">
              <label for="j-key">Consumer Key</label><input id="j-key" name="clientId" type="text" value="{{v_clientId}}" autocomplete="off">
              <label for="j-user">Username</label><input id="j-user" name="username" type="text" value="{{v_username}}" autocomplete="off">
              <label for="j-pem">Private key (PEM)</label><textarea id="j-pem" name="privateKeyPem" autocomplete="off" spellcheck="false" placeholder="-----BEGIN PRIVATE KEY-----"></textarea>
              <p class="help">The RSA key (2048 bits or more, unencrypted) whose certificate is uploaded to the connected app. The user must be pre-authorized (Admin approved users are pre-authorized, with the user's profile or a permission set). It is sealed at rest and never shown again.</p>
              <label for="j-aud">Audience (optional)</label><input id="j-aud" name="audience" type="text" value="{{v_audience}}" placeholder="https://login.salesforce.com">
              <p class="help">Left empty: https://test.salesforce.com for sandboxes, https://login.salesforce.com otherwise.</p>
            </div>
          </fieldset>
          <label for="c-version">API version (optional)</label><input id="c-version" name="apiVersion" type="text" value="{{v_apiVersion}}" placeholder="v66.0">
          <div class="actions"><button type="submit" id="connect">Connect</button><span class="help">sfdest signs in before saving: you see Salesforce's answer at once.</span></div>
        </form>
        {{/can.manageDestinations}}
        """#

    static let destinationNew = #"""
        <h1>New destination</h1>
        {{^hasConnections}}<p class="panel">Connect a Salesforce org first: <a href="/ui/connections">Connections</a>.</p>{{/hasConnections}}
        {{#hasConnections}}
        <form id="new-destination-form" class="panel" method="post" action="/ui/destinations">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label for="d-name">Name</label><input id="d-name" name="name" type="text" value="{{name}}" placeholder="Sales contacts" required>
          <label for="d-description">Description</label><input id="d-description" name="description" type="text" value="{{description}}" placeholder="Audiences for reps">
          <label for="d-connection">Connection</label>
          <select id="d-connection" name="connectionId">{{#connections}}<option value="{{id}}" {{#selected}}selected{{/selected}}>{{name}} ({{instanceUrl}})</option>{{/connections}}</select>
          <fieldset><legend>Salesforce object</legend>
            <input type="radio" id="o-contact" name="objectType" value="Contact" {{#contact}}checked{{/contact}}><label class="inline" for="o-contact">Contact</label>
            <input type="radio" id="o-lead" name="objectType" value="Lead" {{#lead}}checked{{/lead}}><label class="inline" for="o-lead">Lead</label>
          </fieldset>
          <fieldset><legend>How records are found</legend>
            <input type="radio" id="op-update" name="operation" value="update" {{#update}}checked{{/update}}><label class="inline" for="op-update">Update by Salesforce Id</label>
            <input type="radio" id="op-upsert" name="operation" value="upsert" {{#upsert}}checked{{/upsert}}><label class="inline" for="op-upsert">Upsert by an external Id field</label>
            <p class="help">Update changes existing records only; upsert also creates them, matched on an External ID field of the org.</p>
            <input type="checkbox" id="d-follow" name="convertedLeads" value="followContact" {{#followContact}}checked{{/followContact}}><label class="inline" for="d-follow">Lead: send a converted lead's changes to its Contact</label>
          </fieldset>
          <div class="actions"><button type="submit" id="create-destination">Create</button><span class="help">It starts as a draft: nothing is sent until you enable it.</span></div>
        </form>
        {{/hasConnections}}
        """#

    static let steps = #"""
        <p class="muted"><a href="/ui/">Destinations</a> › {{destination.name}} · {{destination.objectType}} · <span class="badge {{statusClass}}" id="status">{{destination.status}}</span></p>
        <ul class="steps" aria-label="Steps">
          <li><a href="/ui/destinations/{{destination.id}}" {{#step_monitor}}aria-current="step"{{/step_monitor}}>Monitoring</a></li>
          <li><a href="/ui/destinations/{{destination.id}}/mapping" {{#step_mapping}}aria-current="step"{{/step_mapping}}>1 · Mapping</a></li>
          <li><a href="/ui/destinations/{{destination.id}}/audiences" {{#step_audiences}}aria-current="step"{{/step_audiences}}>2 · Audiences</a></li>
          <li><a href="/ui/destinations/{{destination.id}}/review" {{#step_review}}aria-current="step"{{/step_review}}>3 · Review and enable</a></li>
        </ul>
        """#

    static let destination = #"""
        {{> steps}}
        <h1>{{destination.name}}</h1>
        <p class="muted">{{#destination.description}}{{destination.description}} · {{/destination.description}}{{destination.operation}} · delivery {{destination.delivery.status}}{{#destination.delivery.reason}}: {{destination.delivery.reason}}{{/destination.delivery.reason}}{{#lastDeliveryShown}} · last delivery {{lastDeliveryShown}}{{/lastDeliveryShown}}</p>
        {{#destination.deliveryError}}<p class="flash error">{{destination.deliveryError}}</p>{{/destination.deliveryError}}
        {{#pausedByPolicy}}<div class="flash error" id="paused-policy"><p>Paused by a data usage policy: nothing is sent, changes stay queued, until the mapping or the label changes (<a href="/ui/destinations/{{destination.id}}/mapping">mapping</a>, <a href="/ui/labels">labels</a>).</p>
        <ul>{{#violations}}<li>{{message}}</li>{{/violations}}</ul></div>{{/pausedByPolicy}}
        <div class="cards" id="backlog">
          <div class="card"><div class="muted">Pending</div><div class="n" id="backlog-pending">{{destination.backlog.pending}}</div></div>
          <div class="card"><div class="muted">In flight</div><div class="n">{{destination.backlog.inFlight}}</div></div>
          <div class="card"><div class="muted">Retrying</div><div class="n">{{destination.backlog.retrying}}</div></div>
          <div class="card"><div class="muted">Failed</div><div class="n" id="backlog-failed">{{destination.backlog.failed}}</div></div>
        </div>
        {{#refresh}}<p class="muted" id="refreshed" aria-live="polite">Work in flight: this page refreshes itself.</p>{{/refresh}}
        <div class="actions">
          {{#canActivate}}{{#enabled}}<form class="inline" method="post" action="/ui/destinations/{{destination.id}}/disable"><input type="hidden" name="csrf" value="{{csrf}}"><button class="secondary" type="submit" id="disable">Disable</button></form>{{/enabled}}
          {{^enabled}}<a class="button" href="/ui/destinations/{{destination.id}}/review">Review and enable</a>{{/enabled}}{{/canActivate}}
          {{#canManage}}{{^enabled}}<form class="inline" method="post" action="/ui/destinations/{{destination.id}}/delete" data-confirm="Delete this destination with its queue and history?"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger" type="submit">Delete</button></form>{{/enabled}}{{/canManage}}
        </div>

        <h2>Runs</h2>
        {{#hasRuns}}
        <div class="legend" aria-hidden="true"><span class="l-received">received</span><span class="l-activated">activated</span><span class="l-unchanged">unchanged</span><span class="l-excluded">excluded</span><span class="l-failed">failed</span></div>
        {{{chart}}}
        <div class="table-wrap"><table id="runs">
          <thead><tr><th>Hour</th><th>Status</th><th class="num">Received</th><th class="num">Activated</th><th class="num">Unchanged</th><th class="num">Excluded</th><th class="num">Failed</th><th class="num">Rate</th></tr></thead>
          <tbody>{{#runs}}<tr><td>{{startShown}}</td><td>{{status}}</td><td class="num">{{profilesReceived}}</td><td class="num">{{identitiesActivated}}</td><td class="num">{{identitiesUnchanged}}</td><td class="num">{{identitiesExcluded}}</td><td class="num">{{identitiesFailed}}</td><td class="num">{{rate}}</td></tr>{{/runs}}</tbody>
        </table></div>
        {{/hasRuns}}
        {{^hasRuns}}<p class="muted">No run yet: runs appear once profiles arrive for an enabled destination.</p>{{/hasRuns}}

        <h2>Failures and exclusions</h2>
        {{#hasFailures}}
        <div class="table-wrap"><table id="failures">
          <thead><tr><th>Code</th><th>Kind</th><th class="num">Records</th><th>Salesforce's message</th><th>Sample records</th><th></th></tr></thead>
          <tbody>{{#failures}}<tr><td><code>{{code}}</code></td><td>{{kind}}</td><td class="num">{{count}}</td><td>{{message}}{{#fields}} <code>{{.}}</code>{{/fields}}</td>
            <td>{{#samples}}<a href="{{href}}"><code>{{id}}</code></a> {{/samples}}</td>
            <td>{{#can.activate}}<form class="inline replay" method="post" action="/ui/destinations/{{destination.id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="code" value="{{code}}"><button type="submit" class="secondary" data-code="{{code}}">Replay</button></form>{{/can.activate}}</td></tr>{{/failures}}</tbody>
        </table></div>
        {{#can.activate}}<form class="inline" method="post" action="/ui/destinations/{{destination.id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="secondary" id="replay-all">Replay all {{failedCount}}</button></form>{{/can.activate}}
        {{/hasFailures}}
        {{^hasFailures}}<p class="muted" id="no-failures">No failed or excluded record.</p>{{/hasFailures}}

        {{#viewProfiles}}
        <h2>One record</h2>
        <form id="record-lookup" method="get" action="/ui/destinations/{{destination.id}}/record">
          <label for="r-id">Salesforce record Id (or, for an upsert destination, the external Id value)</label>
          <input id="r-id" name="recordId" type="text" placeholder="003..." required> <button type="submit">Show</button>
        </form>
        {{/viewProfiles}}

        {{#viewSegments}}
        <h2>Audiences</h2>
        {{#hasSegments}}
        <div class="table-wrap"><table id="segments">
          <thead><tr><th>Audience</th><th>Mapping ID field</th><th>From</th><th>Until</th><th class="num">Realized</th><th class="num">Existing</th><th class="num">Exited</th></tr></thead>
          <tbody>{{#segments}}<tr><td>{{segmentId}}</td><td><code>{{mappingId}}</code></td><td>{{startDate}}</td><td>{{endDate}}</td><td class="num">{{profiles.realized}}</td><td class="num">{{profiles.existing}}</td><td class="num">{{profiles.exited}}</td></tr>{{/segments}}</tbody>
        </table></div>
        {{/hasSegments}}
        {{^hasSegments}}<p class="muted">No audience is activated yet: <a href="/ui/destinations/{{destination.id}}/audiences">pick some</a>.</p>{{/hasSegments}}
        {{/viewSegments}}

        <h2 id="alerts">Alerts</h2>
        {{#hasAlerts}}<ul id="destination-alerts">{{#alerts}}<li><span class="badge {{stateClass}}">{{state}}</span> {{rule}}: {{message}} <span class="muted">{{openedShown}}</span></li>{{/alerts}}</ul>{{/hasAlerts}}
        {{^hasAlerts}}<p class="muted">No alert for this destination.</p>{{/hasAlerts}}
        <form id="alert-settings" class="panel" method="post" action="/ui/destinations/{{destination.id}}/alerts">
          <input type="hidden" name="csrf" value="{{csrf}}">
          {{#alertSettings}}
          <label for="a-skip">Alert when more than this share of a run is excluded or failed (0 to 1)</label><input id="a-skip" name="skipRateThreshold" type="number" step="0.001" min="0" max="1" value="{{skipRateThreshold}}" {{^canManage}}disabled{{/canManage}}>
          <label for="a-min">… once a run has received at least</label><input id="a-min" name="skipRateMinimumReceived" type="number" min="1" value="{{skipRateMinimumReceived}}" {{^canManage}}disabled{{/canManage}}>
          <label for="a-delay">Alert when a change waits longer than (seconds)</label><input id="a-delay" name="delayThresholdSeconds" type="number" min="1" value="{{delayThresholdSeconds}}" {{^canManage}}disabled{{/canManage}}>
          <p><input type="checkbox" id="a-start" name="runStart" {{#runStart}}checked{{/runStart}} {{^canManage}}disabled{{/canManage}}><label class="inline" for="a-start">Event when a run starts</label>
          <input type="checkbox" id="a-success" name="runSuccess" {{#runSuccess}}checked{{/runSuccess}} {{^canManage}}disabled{{/canManage}}><label class="inline" for="a-success">Event when a run succeeds</label></p>
          {{/alertSettings}}
          {{#canManage}}<button type="submit">Save alert settings</button>{{/canManage}}
          <p class="help">Webhooks that receive the events: <a href="/ui/alerts">Alerts</a>.</p>
        </form>
        """#

    static let record = #"""
        {{> steps}}
        <h1>Record {{recordId}}</h1>
        <form method="get" action="/ui/destinations/{{destination.id}}/record"><label for="r-id">Record</label><input id="r-id" name="recordId" type="text" value="{{recordId}}" required> <button type="submit">Show</button></form>
        {{#recordError}}<p class="flash error" id="record-error">{{recordError}}</p>{{/recordError}}
        {{#record}}
        <p>Salesforce {{salesforceObject}} <code>{{salesforceId}}</code> · attempts {{attempts}}{{#acknowledgedAt}} · acknowledged {{acknowledgedAt}}{{/acknowledgedAt}}</p>
        {{#lastError}}<p class="flash error">Last error <code>{{code}}</code>: {{message}}</p>{{/lastError}}
        <div class="cards">
          <div class="card"><h2>Acknowledged by Salesforce</h2><table id="acknowledged">{{#acknowledgedRows}}<tr><th>{{name}}</th><td><code>{{value}}</code></td></tr>{{/acknowledgedRows}}</table></div>
          <div class="card"><h2>Waiting to be sent</h2><table id="pending">{{#pendingRows}}<tr><th>{{name}}</th><td><code>{{value}}</code></td></tr>{{/pendingRows}}</table></div>
        </div>
        <h2>History</h2>
        <div class="table-wrap"><table id="history"><thead><tr><th>When</th><th>What</th><th class="num">Attempt</th><th>Code</th><th>Sent</th></tr></thead>
        <tbody>{{#history}}<tr><td>{{atShown}}</td><td>{{event}}</td><td class="num">{{attempt}}</td><td>{{code}} {{message}}</td><td><code>{{sentShown}}</code></td></tr>{{/history}}</tbody></table></div>
        {{/record}}
        """#

    static let mapping = #"""
        {{> steps}}
        <h1>Mapping</h1>
        <p>Each row sends a profile value to a field of the {{destination.objectType}}. The first row is the record key: it is mandatory.{{#requiredFields}} The org requires: <strong>{{requiredFields}}</strong>.{{/requiredFields}}</p>
        {{#fieldsProblem}}<p class="flash error">The org's fields cannot be read now: {{fieldsProblem}}</p>{{/fieldsProblem}}
        {{#profilesRead}}<p class="help">Sources suggested from the {{profilesRead}} most recent stored profiles, with sample values.</p>{{/profilesRead}}
        <datalist id="source-list">{{#sources}}<option value="{{source}}">{{hint}}</option>{{/sources}}</datalist>
        {{#hasLabels}}<div class="panel" id="labels-panel"><h2>Data usage labels</h2>
        <p class="help">This destination does <strong>{{actionsShown}}</strong>. A mapped source whose label a policy forbids for that is refused when the destination is enabled, and pauses it if it is already. <a href="/ui/labels">All labels</a>.</p>
        <ul>{{#labels}}<li><code>{{source}}</code> {{#labelList}}<span class="badge {{#blocked}}bad{{/blocked}}{{^blocked}}warn{{/blocked}}" title="{{meaning}}">{{name}}</span> {{/labelList}}{{#blocked}}<strong>cannot be mapped here</strong>{{/blocked}}</li>{{/labels}}</ul></div>{{/hasLabels}}
        <form id="mapping" method="post" action="/ui/destinations/{{destination.id}}/mapping" data-check="/ui/destinations/{{destination.id}}/check" data-list="mappings">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <div class="table-wrap"><table>
            <thead><tr><th>#</th><th>Profile source</th><th>Salesforce field</th></tr></thead>
            <tbody>
            {{#rows}}<tr data-row><td>{{number}}{{#isKey}} <span class="badge warn">key</span>{{/isKey}}</td>
              <td><input id="source-{{index}}" name="source" type="text" list="source-list" value="{{source}}" placeholder="xdm:person.name.lastName" aria-label="Profile source of row {{number}}" {{^can.activate}}disabled{{/can.activate}}></td>
              <td><select id="target-{{index}}" name="target" aria-label="Salesforce field of row {{number}}" {{^can.activate}}disabled{{/can.activate}}><option value="">— choose a field —</option>{{#options}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/options}}</select></td></tr>{{/rows}}
            </tbody>
          </table></div>
          <div id="live-problems" aria-live="polite" data-state="idle"></div>
          {{#can.activate}}<div class="actions"><button type="button" class="secondary" data-add-row hidden>Add a row</button><button type="submit" id="save-mapping">Save and continue</button></div>{{/can.activate}}
          {{^can.activate}}<p class="muted">This key cannot change mappings (it lacks activate-destinations).</p>{{/can.activate}}
        </form>
        """#

    static let labels = #"""
        <h1>Data usage labels</h1>
        <p>A label on a profile source says how its data may be used: <code>C2</code> no export to a third party, <code>C12</code> no export at all, <code>C4</code>/<code>C5</code> no cross-site targeting, and the others for the record. A label on <code>xdm:person</code> covers every path under it. Destinations are checked against the policies when they are enabled, and paused when a label added here breaks one.</p>
        {{#hasLabels}}<div class="table-wrap"><table id="labels"><thead><tr><th>Source</th><th>Labels</th><th></th></tr></thead>
        <tbody>{{#labels}}<tr><td><code>{{source}}</code></td><td>{{#labelList}}<span class="badge warn" title="{{meaning}}">{{name}}</span> {{/labelList}}</td>
          <td>{{#can.admin}}<form class="inline" method="post" action="/ui/labels/remove" data-confirm="Take every label off {{source}}?"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="source" value="{{source}}"><button class="secondary" type="submit">Remove</button></form>{{/can.admin}}</td></tr>{{/labels}}</tbody></table></div>{{/hasLabels}}
        {{^hasLabels}}<p class="muted" id="no-labels">No source is labelled.</p>{{/hasLabels}}
        {{#hasPaused}}<p class="flash error" id="paused-by-policy">Paused by a policy: {{#paused}}<a href="/ui/destinations/{{id}}">{{name}}</a> {{/paused}}</p>{{/hasPaused}}
        {{#can.admin}}
        <form id="label-form" class="panel" method="post" action="/ui/labels">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label for="l-source">Source</label><input id="l-source" name="source" type="text" placeholder="xdm:personalEmail.address" required>
          <fieldset><legend>Labels (they replace the source's labels)</legend>{{#allLabels}}<p><input type="checkbox" id="label-{{name}}" name="labels" value="{{name}}"><label class="inline" for="label-{{name}}">{{name}}</label> <span class="help">{{meaning}}</span></p>{{/allLabels}}</fieldset>
          <div class="actions"><button type="submit" id="save-label">Save labels</button></div>
        </form>
        {{/can.admin}}
        {{^can.admin}}<p class="muted">Only an admin key changes labels: taking one off lets data out.</p>{{/can.admin}}
        """#

    static let audiences = #"""
        {{> steps}}
        <h1>Audiences</h1>
        <p>Tick the audiences to send. Each status (realized, existing, exited) goes to its Mapping ID: a Text Area (Long) custom field of the {{destination.objectType}}. Audiences may share a field.</p>
        <p><strong><span id="fields-used">{{fieldsUsed}}</span> of {{maxFields}}</strong> Mapping ID fields used (Salesforce's limit per object).</p>
        {{#fieldsProblem}}<p class="flash error">The org's fields cannot be read now: {{fieldsProblem}}</p>{{/fieldsProblem}}
        <datalist id="mapping-ids">{{#longTextAreas}}<option value="{{name}}">{{label}}</option>{{/longTextAreas}}</datalist>
        <form id="audiences" method="post" action="/ui/destinations/{{destination.id}}/audiences" data-check="/ui/destinations/{{destination.id}}/check" data-list="segments">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <div class="table-wrap"><table>
            <thead><tr><th>Send</th><th>Audience</th><th>Members</th><th>Mapping ID</th><th>From</th><th>Until</th></tr></thead>
            <tbody>
            {{#rows}}<tr data-row>
              <td><input type="checkbox" id="active-{{index}}" name="active" value="{{index}}" aria-label="Send {{segmentId}}" {{#active}}checked{{/active}} {{^can.activate}}disabled{{/can.activate}}></td>
              <td>{{#known}}<strong>{{segmentId}}</strong><input type="hidden" id="segment-{{index}}" name="segmentId" value="{{segmentId}}">{{/known}}{{^known}}<input type="text" id="segment-{{index}}" name="segmentId" value="{{segmentId}}" aria-label="Audience id" placeholder="seg-gold" {{^can.activate}}disabled{{/can.activate}}>{{/known}}</td>
              <td class="muted">{{members}}</td>
              <td><input type="text" id="mapping-{{index}}" name="mappingId" value="{{mappingId}}" list="mapping-ids" aria-label="Mapping ID of {{segmentId}}" placeholder="crm_1_seg" {{^can.activate}}disabled{{/can.activate}}></td>
              <td><input type="date" name="startDate" value="{{startDate}}" aria-label="Start date" {{^can.activate}}disabled{{/can.activate}}></td>
              <td><input type="date" name="endDate" value="{{endDate}}" aria-label="End date" {{^can.activate}}disabled{{/can.activate}}></td></tr>{{/rows}}
            </tbody>
          </table></div>
          <div id="live-problems" aria-live="polite" data-state="idle"></div>
          {{#can.activate}}<div class="actions"><button type="submit" id="save-audiences">Save and continue</button></div>{{/can.activate}}
        </form>
        """#

    static let review = #"""
        {{> steps}}
        <h1>Review and enable</h1>
        <p>The same check that enabling runs, against a fresh describe of the org's {{destination.objectType}}. Nothing is sent before it passes.</p>
        {{#checkError}}<p class="flash error" id="check-error">{{checkError}}</p>{{/checkError}}
        {{#hasProblems}}
        <div class="panel"><h2>Fix these first</h2>
        <ul class="problems" id="problems">{{#problems}}<li><code>{{field}}</code> {{message}} {{#where}}<a href="/ui/destinations/{{destination.id}}/{{where}}">Fix in {{where}}</a>{{/where}}</li>{{/problems}}</ul></div>
        {{/hasProblems}}
        {{#ready}}<p class="flash success" id="ready">Ready: the configuration fits the org.</p>{{/ready}}
        <div class="cards">
          <div class="card"><h2>Mapping</h2><ul>{{#mappings}}<li><code>{{source}}</code> → <code>{{target}}</code></li>{{/mappings}}</ul></div>
          <div class="card"><h2>Audiences</h2><ul>{{#segments}}<li>{{segmentId}} → <code>{{mappingId}}</code>{{#startDate}} from {{startDate}}{{/startDate}}{{#endDate}} until {{endDate}}{{/endDate}}</li>{{/segments}}</ul></div>
        </div>
        {{#canActivate}}
        <div class="actions">
        {{^enabled}}<form id="enable-form" class="inline" method="post" action="/ui/destinations/{{destination.id}}/enable"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="enable" {{^ready}}disabled{{/ready}}>Enable</button></form>{{/enabled}}
        {{#enabled}}<p>Enabled. <a href="/ui/destinations/{{destination.id}}">See its runs</a>.</p>{{/enabled}}
        </div>
        {{/canActivate}}
        {{^canActivate}}<p class="muted">This key cannot enable destinations (it lacks activate-destinations).</p>{{/canActivate}}
        """#

    static let alerts = #"""
        <h1>Alerts</h1>
        {{#hasAlerts}}
        <div class="table-wrap"><table id="alerts-table"><thead><tr><th>State</th><th>Rule</th><th>Destination</th><th>What</th><th>Opened</th><th>Resolved</th></tr></thead>
        <tbody>{{#alerts}}<tr><td><span class="badge {{stateClass}}">{{state}}</span></td><td>{{rule}}</td><td><a href="/ui/destinations/{{destinationId}}">{{destinationName}}</a></td><td>{{message}}</td><td>{{openedShown}}</td><td>{{resolvedShown}}</td></tr>{{/alerts}}</tbody></table></div>
        {{/hasAlerts}}
        {{^hasAlerts}}<p class="muted">No alert.</p>{{/hasAlerts}}
        <h2>Webhook subscriptions</h2>
        {{#hasSubscriptions}}<ul id="subscriptions">{{#subscriptions}}<li><code>{{url}}</code> for {{destinationName}}
          {{#canManage}}<form class="inline" method="post" action="/ui/alerts/subscriptions/{{id}}/delete" data-confirm="Remove this webhook?"><input type="hidden" name="csrf" value="{{csrf}}"><button class="secondary" type="submit">Remove</button></form>{{/canManage}}</li>{{/subscriptions}}</ul>{{/hasSubscriptions}}
        {{^hasSubscriptions}}<p class="muted">No webhook yet.</p>{{/hasSubscriptions}}
        {{#canManage}}
        <form id="new-subscription" class="panel" method="post" action="/ui/alerts/subscriptions">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label for="s-url">Webhook URL</label><input id="s-url" name="url" type="url" placeholder="https://hooks.example.com/sfdest" required>
          <label for="s-secret">Shared secret</label><input id="s-secret" name="secret" type="password" autocomplete="off" required>
          <p class="help">16 bytes or more (such as the output of openssl rand -hex 32): each event is signed with HMAC-SHA256. It is never shown again.</p>
          <label for="s-dest">For</label><select id="s-dest" name="destinationId"><option value="">every destination</option>{{#destinations}}<option value="{{id}}">{{name}}</option>{{/destinations}}</select>
          <div class="actions"><button type="submit">Add webhook</button></div>
        </form>
        {{/canManage}}
        """#

    static let keys = #"""
        <h1>API keys</h1>
        <div class="table-wrap"><table id="keys"><thead><tr><th>Name</th><th>Permissions</th><th>Created</th><th>Expires</th><th>Last used</th><th></th></tr></thead>
        <tbody>{{#keys}}<tr><td>{{name}}<div class="muted">{{id}}</div></td><td>{{permissionsShown}}</td><td>{{createdShown}}</td><td>{{expiresShown}}</td><td>{{lastUsedShown}}</td>
          <td>{{#revoked}}<span class="badge bad">revoked</span>{{/revoked}}{{^revoked}}<form class="inline" method="post" action="/ui/keys/{{id}}/revoke" data-confirm="Revoke {{name}} and the keys it created?"><input type="hidden" name="csrf" value="{{csrf}}"><button class="secondary" type="submit">Revoke</button></form>{{/revoked}}</td></tr>{{/keys}}</tbody></table></div>
        <h2>New key</h2>
        <form id="new-key" class="panel" method="post" action="/ui/keys">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label for="k-name">Name</label><input id="k-name" name="name" type="text" placeholder="reps dashboard" required>
          <fieldset><legend>Permissions</legend>{{#permissions}}<p><input type="checkbox" id="perm-{{name}}" name="permissions" value="{{name}}"><label class="inline" for="perm-{{name}}">{{name}}</label></p>{{/permissions}}</fieldset>
          <label for="k-expires">Expires (optional)</label><input id="k-expires" name="expiresAt" type="date">
          <div class="actions"><button type="submit" id="create-key">Create key</button></div>
        </form>
        """#

    static let audit = #"""
        <h1>Audit log</h1>
        {{#hasEntries}}
        <div class="table-wrap"><table id="audit"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Before</th><th>After</th></tr></thead>
        <tbody>{{#entries}}<tr><td>{{atShown}}</td><td>{{keyName}}</td><td>{{action}}</td><td><code>{{targetId}}</code></td><td><code>{{beforeShown}}</code></td><td><code>{{afterShown}}</code></td></tr>{{/entries}}</tbody></table></div>
        {{/hasEntries}}
        {{^hasEntries}}<p class="muted">Nothing recorded yet.</p>{{/hasEntries}}
        """#
}
