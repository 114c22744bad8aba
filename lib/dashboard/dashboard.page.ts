import { createHash } from 'node:crypto';

/*
 * The dashboard's page: one self-contained document (no CDN, no build step), shipped as a string
 * so that dist/ needs no copied assets. Its script writes every value with textContent and DOM
 * APIs, never innerHTML, so a loop name or error message is shown as text whatever it holds. It
 * finds its API from its own URL (`location.pathname`), so the page carries no server data and
 * is one constant, which lets the Content-Security-Policy pin its script by hash.
 */

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
.s-running{color:#070}.s-paused,.s-stopped{color:#a60}.s-standby{color:#777}.err{color:#b00;font-size:.9em}
.tl{display:flex;gap:2px;height:14px}.tl i{display:inline-block;width:8px;height:14px;background:#ccc}
.tl .succeeded{background:#2a2}.tl .failed{background:#d22}.tl .started{background:#49f}.tl .stopped{background:#999}
button{margin-right:.3em}#status{color:#777}`;

const SCRIPT = `(()=>{
const base=location.pathname.replace(/\\/+$/,'');
const $=(id)=>document.getElementById(id);
const runs=new Map();let state={loops:[],members:[],readOnly:true};
function el(tag,text,cls){const e=document.createElement(tag);if(text!==undefined&&text!==null)e.textContent=String(text);if(cls)e.className=cls;return e}
function when(iso){return iso?new Date(iso).toLocaleTimeString():'-'}
function act(name,verb){fetch(base+'/api/loops/'+encodeURIComponent(name)+'/'+verb,{method:'POST',headers:{'X-Wait-Dashboard':'1'}}).then((r)=>{$('status').textContent=verb+' '+name+': '+r.status}).catch((e)=>{$('status').textContent=String(e)})}
function timeline(name){const t=el('div',undefined,'tl');for(const r of runs.get(name)||[]){const i=el('i',undefined,r.type);i.title=r.type+' #'+r.iteration+' '+when(r.at);t.append(i)}return t}
function render(){
const body=$('loops');body.replaceChildren();
for(const l of state.loops){const tr=el('tr');
tr.append(el('td',l.name),el('td',l.state,'s-'+l.state),el('td',l.placement),el('td',l.owner||'-'),el('td',l.iterations+' / '+l.failures),el('td',when(l.lastEndedAt)+(l.lastOutcome?' '+l.lastOutcome:'')),el('td',when(l.nextRunAt)));
const last=el('td');last.append(timeline(l.name));if(l.lastErrorMessage)last.append(el('div',l.lastErrorMessage,'err'));tr.append(last);
const c=el('td');if(!state.readOnly){for(const v of ['trigger',l.state==='paused'||l.state==='stopped'?'resume':'pause']){const b=el('button',v);b.type='button';b.addEventListener('click',()=>act(l.name,v));c.append(b)}}tr.append(c);body.append(tr)}
const m=$('members');m.replaceChildren();
for(const x of state.members){m.append(el('li',x.identity+(x.leader?' (leader)':'')+(x.self?' (this replica)':'')+', '+x.loops+' loops, renewed '+when(x.renewedAt)))}
if(!state.members.length)m.append(el('li','no cluster members (single replica)'));
const leader=state.members.find((x)=>x.leader);$('leader').textContent=leader?leader.identity:'-';
$('mode').textContent=state.readOnly?'read-only':'read-write'}
const es=new EventSource(base+'/api/events');
es.addEventListener('state',(e)=>{state=JSON.parse(e.data);render()});
es.addEventListener('run',(e)=>{const r=JSON.parse(e.data);const list=runs.get(r.name)||[];list.push(r);if(list.length>40)list.shift();runs.set(r.name,list);render()});
es.addEventListener('open',()=>{$('status').textContent='live'});
es.addEventListener('error',()=>{$('status').textContent='reconnecting'});
})();`;

/**
 * The page's HTML: 3,677 bytes, 1,741 gzipped (`zlib.gzipSync`, checked by the dashboard tests).
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>nestjs-wait</title><style>${STYLE}</style></head>
<body><h1>nestjs-wait loops</h1><p>Leader: <b id="leader">-</b> &middot; <span id="mode"></span> &middot; <span id="status">connecting</span></p>
<table><thead><tr><th>Loop</th><th>State</th><th>Placement</th><th>Owner</th><th>Runs / failures</th><th>Last run</th><th>Next run</th><th>Recent runs</th><th></th></tr></thead><tbody id="loops"></tbody></table>
<h2>Members</h2><ul id="members"></ul>
<script>${SCRIPT}</script></body></html>`;

/**
 * The page's Content-Security-Policy: nothing loads from anywhere, its one script runs because
 * its hash matches, and it may only connect back to its own origin.
 */
export const DASHBOARD_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
